#!/usr/bin/env bash
# The demo: installs what is missing, builds secretsync and the Vault double, starts the double on
# a free loopback port seeded with example secrets, and runs `secretsync check` against it with
# token, Kubernetes and AppRole auth. It prints versions and key names, never a value.
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
echo "== Done. No value was printed: only versions and key names."
