#!/usr/bin/env bash
# Reads per second through secretsync's store client against the Vault double on loopback, beside
# wrk fetching the same paths from the same double: both figures and their ratio.
#
#   bench/run_store_read_bench.sh            # 32 callers, 50 paths, 10 s each
#   CALLERS=64 PATHS=200 DURATION=20 bench/run_store_read_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

callers=${CALLERS:-32}
paths=${PATHS:-50}
duration=${DURATION:-10}
build=${BUILD_DIR:-build-release}

scripts/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target store_read_bench vault-double -j"${JOBS:-2}" >/dev/null

work=$(mktemp -d)
double_pid=""
cleanup() {
  [ -n "$double_pid" ] && kill "$double_pid" 2>/dev/null && wait "$double_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$paths" >"$work/seed.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"secrets": [
    {"mount": "secret", "path": f"bench/key-{i}",
     "data": {"username": f"user-{i}", "password": "x" * 32, "port": 5432}} for i in range(n)]}))
PY
"$build/test/support/vault-double" --listen 127.0.0.1:0 --seed "$work/seed.json" \
  --root-token bench-root --port-file "$work/port" >/dev/null &
double_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")

ours=$("$build/bench/store_read_bench" --address "http://127.0.0.1:$port" --token bench-root \
  --callers "$callers" --paths "$paths" --seconds "$duration")
echo "$ours"

wrk_out=$(BENCH_TOKEN=bench-root BENCH_PATHS="$paths" BENCH_PREFIX="secret/data/bench/key-" \
  wrk -t2 -c"$callers" -d"${duration}s" --latency -s bench/wrk_vault_paths.lua \
  "http://127.0.0.1:$port")
echo "$wrk_out" | sed 's/^/wrk: /'

ours_rps=$(echo "$ours" | sed -n 's/.*reads_per_second=\([0-9.]*\).*/\1/p')
wrk_rps=$(echo "$wrk_out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
python3 -c "print(f'store client {float($ours_rps):.0f} reads/s, wrk {float($wrk_rps):.0f} requests/s, ratio {float($ours_rps)/float($wrk_rps):.2f}')"
