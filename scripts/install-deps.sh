#!/usr/bin/env bash
# Installs the Debian 12 packages secretsync builds and tests with. Idempotent: it asks apt only
# for what is missing and prints nothing when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake git pkg-config ca-certificates openssl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev
  libcurl4-openssl-dev libssl-dev libyaml-cpp-dev prometheus-cpp-dev
  libboost-dev nlohmann-json3-dev googletest libgtest-dev libgmock-dev
  clang-14 libclang-rt-14-dev
  python3 python3-hvac python3-kubernetes python3-yaml wrk
  prometheus  # prometheus and promtool for test/deploy (rules, scrapes, PromQL)
)
# kubectl for the API-server double's client test: Debian's, unless one is installed already
# (another package owning /usr/bin/kubectl would conflict with it).
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
