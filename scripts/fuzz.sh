#!/usr/bin/env bash
# Fuzz campaigns with clang's libFuzzer (ASan+UBSan) over every parser of outside input.
#
#   scripts/fuzz.sh [RUNS] [TARGET...]
#   MAX_LEN=4096 scripts/fuzz.sh ...   caps input size (libFuzzer's -max_len; default: guessed from
#                                      the corpus, which for big seed files makes runs slow)
#
# Builds the targets in build-fuzz, runs each for RUNS executions (default 10,000,000) on a
# scratch copy of its checked-in corpus, then merges what found new coverage back into
# test/fuzz/corpus/<name>/ (libFuzzer's -merge keeps the corpus minimal). A crash stops the run:
# its input is copied to test/fuzz/corpus/<name>/ as crash-<sha1> so that ctest replays it from
# then on. Prints one line per target: executions, seconds, exec/s, corpus size, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-10000000}
shift || true
declare -A corpus=(
  [vault_response_fuzz]=vault_response [mount_attributes_fuzz]=mount_attributes
  [manifest_fuzz]=manifest [template_fuzz]=template [kubeconfig_fuzz]=kubeconfig
  [watch_decoder_fuzz]=watch_stream [secrets_store_import_fuzz]=secrets_store_import
  [kube_object_fuzz]=kube_object [go_regexp_fuzz]=go_regexp)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(vault_response_fuzz mount_attributes_fuzz manifest_fuzz template_fuzz kubeconfig_fuzz
           watch_decoder_fuzz secrets_store_import_fuzz kube_object_fuzz go_regexp_fuzz)
fi

scripts/install-deps.sh
if ! command -v clang++-14 >/dev/null; then
  sudo=$([[ $(id -u) -eq 0 ]] && echo "" || echo sudo)
  $sudo apt-get install -y -q clang-14 libclang-rt-14-dev >/dev/null
fi
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSECRETSYNC_FUZZ=ON -DSECRETSYNC_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"${JOBS:-2}" --target "${targets[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for target in "${targets[@]}"; do
  name=${corpus[$target]}
  checked_in=test/fuzz/corpus/$name
  scratch=$work/$name
  mkdir -p "$scratch" "$work/$name-crashes"
  cp "$checked_in"/* "$scratch"/
  start=$(date +%s)
  set +e
  build-fuzz/test/fuzz/"$target" -runs="$runs" -rss_limit_mb=4096 ${MAX_LEN:+-max_len=$MAX_LEN} \
    -timeout=30 -print_final_stats=1 -artifact_prefix="$work/$name-crashes/" "$scratch" \
    >"$work/$name.log" 2>&1
  rc=$?
  set -e
  seconds=$(( $(date +%s) - start ))
  executed=$(sed -n 's/^stat::number_of_executed_units: //p' "$work/$name.log")
  crashes=0
  for crash in "$work/$name-crashes"/*; do
    [[ -e "$crash" ]] || continue
    crashes=$((crashes + 1))
    cp "$crash" "$checked_in/crash-$(sha1sum "$crash" | cut -c1-40)"
  done
  if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
    status=1
    tail -60 "$work/$name.log" >&2
  fi
  # Keep only the inputs that add coverage over what is checked in.
  build-fuzz/test/fuzz/"$target" -merge=1 -artifact_prefix="$work/$name-merge-" \
    "$checked_in" "$scratch" >"$work/$name-merge.log" 2>&1 || true
  printf '%-28s %12s execs %6ss %8s exec/s  corpus %4s files  crashes %s\n' "$target" \
    "${executed:-?}" "$seconds" "$(( ${executed:-0} / (seconds > 0 ? seconds : 1) ))" \
    "$(ls "$checked_in" | wc -l)" "$crashes"
done
exit $status
