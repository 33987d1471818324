#!/usr/bin/env bash
# Installs what is missing, builds everything with AddressSanitizer and UndefinedBehaviorSanitizer,
# and runs the whole test suite (unit, integration against the doubles, end-to-end, the fault
# soak, the leak scan, fuzz-corpus replays, the hvac compatibility check). Exits non-zero on any
# failure.
#
#   scripts/test.sh          ASan+UBSan in build-test (what CI runs)
#   scripts/test.sh --tsan   ThreadSanitizer in build-tsan, the same suite
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
if [[ "${1:-}" == "--tsan" ]]; then
  build=${BUILD_DIR:-build-tsan}
  sanitizer=(-DSECRETSYNC_TSAN=ON)
  # Debian's gRPC, Abseil and libcurl are not instrumented: synchronisation inside them is
  # invisible to TSan, so the few reports rooted there are suppressed by name (see the file).
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/test/tsan.supp"
else
  build=${BUILD_DIR:-build-test}
  sanitizer=(-DSECRETSYNC_SANITIZE=ON)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug "${sanitizer[@]}" -DCMAKE_CXX_FLAGS="-O1" >/dev/null
cmake --build "$build" -j"${JOBS:-2}"
ctest --test-dir "$build" --output-on-failure -j"${JOBS:-2}"
