#!/usr/bin/env bash
# Installs what is missing, builds everything with AddressSanitizer and UndefinedBehaviorSanitizer,
# and runs the whole test suite (unit, integration against the doubles, end-to-end, fuzz-corpus
# replays, the hvac compatibility check). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${BUILD_DIR:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSECRETSYNC_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS="-O1" >/dev/null
cmake --build "$build" -j"${JOBS:-2}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j"${JOBS:-2}"
