#!/usr/bin/env bash
# The demo: installs what is missing, builds secretsync and the Vault double, starts the double on
# a free loopback port seeded with example secrets, validates the example manifests of
# examples/demo, syncs them to files with `secretsync sync --once` (twice: the second run writes
# nothing), shows what failures look like, and runs `secretsync check` with token, Kubernetes and
# AppRole auth. It prints file names, modes, versions and key names, never a value.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${BUILD_DIR:-build-release}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target secretsync vault-double -j"${JOBS:-2}" >/dev/null

secretsync="$build/cmd/secretsync/secretsync"
double="$build/test/support/vault-double"
work=$(mktemp -d)
double_pid=""
cleanup() {
  [ -n "$double_pid" ] && kill "$double_pid" 2>/dev/null && wait "$double_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$double" --listen 127.0.0.1:0 --seed test/support/testdata/demo_seed.json \
  --port-file "$work/port" >"$work/double.log" 2>&1 &
double_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
export VAULT_ADDR="http://127.0.0.1:$(cat "$work/port")"
echo "== $("$secretsync" version)"
echo "== Vault double (a test double, not a Vault) at $VAULT_ADDR, seeded from test/support/testdata/demo_seed.json"

# The example manifests, pointed at the double.
mkdir "$work/manifests"
for f in examples/demo/*.yaml; do
  sed "s#http://127.0.0.1:8200#$VAULT_ADDR#" "$f" >"$work/manifests/$(basename "$f")"
done
out="$work/out"
run() { echo "\$ secretsync $*"; "$secretsync" "$@" 2>&1 | sed "s#$work/##g" || true; }

echo; echo "== Validate the example manifests offline (as a CI job would)"
run validate -f examples/demo

echo; echo "== Sync every ExternalSecret of examples/demo to files: out/<namespace>/<target>/<key>"
run sync -f "$work/manifests" --output-dir "$out" --once
echo; echo "== What was written: names, modes and links, never a value"
(cd "$out" && find . -mindepth 1 \( -type l -printf '%M  %p -> %l\n' \) -o -printf '%M  %p\n' | sort -k2)

echo; echo "== The same again: nothing changed in Vault, so nothing is written (no new version dir)"
run sync -f "$work/manifests" --output-dir "$out" --once

echo; echo "== What failures look like: each named as <namespace>/<name>: <field>: <reason>, exit 1"
run sync -f "$work/manifests" -f examples/demo-failures.yaml --output-dir "$out" --once

step() { echo; echo "== $1"; shift; echo "\$ secretsync check $*"; "$secretsync" check "$@" || true; }

printf '%s' hvs.demo-app-token >"$work/token"
step "Token auth: current and pinned versions, KV v1, a multi-segment mount, a recursive list" \
  --token-file "$work/token" \
  --path secret/app/db --path 'secret/app/db?version=1' --path secret/app/config \
  --path kv1/legacy/smtp --path team/kv/billing/stripe --list secret/app

"$double" --mint-jwt --key demo-kubernetes-signing-key --namespace default \
  --service-account app --audience vault >"$work/sa.jwt"
step "Kubernetes auth: the pod's service-account JWT, role app" \
  --auth kubernetes --role app --jwt-file "$work/sa.jwt" --path secret/app/api

printf '%s' demo-secret-id >"$work/secret-id"
step "AppRole auth" --auth approle --role-id demo-role-id --secret-id-file "$work/secret-id" \
  --path secret/app/db

step "What failures look like: a path the policy does not grant, a missing version, a deleted one" \
  --token-file "$work/token" --path secret/ops/root --path 'secret/app/db?version=7' \
  --path secret/app/retired
"$double" --mint-jwt --key demo-kubernetes-signing-key --namespace default \
  --service-account intruder --audience vault >"$work/intruder.jwt"
step "A service account the role does not bind" \
  --auth kubernetes --role app --jwt-file "$work/intruder.jwt" --path secret/app/api

echo
echo "== Done. No value was printed: only file names, modes, versions and key names."
