#!/usr/bin/env python3
"""End-to-end: the built `secretsync check` against the standalone `vault-double` process.

Runs the binary as a user would, with token, Kubernetes and AppRole auth, and checks exit codes,
what is reported, and that no secret value of the seed (nor a token or JWT) ever appears in the
output, whatever happened.

Usage: check_command_e2e_test.py SECRETSYNC VAULT_DOUBLE SEED_JSON
"""

import json
import os
import subprocess
import sys
import tempfile
import time


def secret_values(seed):
    """Every leaf value stored in the seed's secrets: none may ever be printed."""
    values = set()

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and len(node) >= 4:
            values.add(node)

    for secret in seed.get("secrets", []):
        walk(secret.get("data", {}))
        walk(secret.get("versions", []))
    return values


def main():
    secretsync, double, seed_path = sys.argv[1:4]
    seed = json.load(open(seed_path))
    forbidden = secret_values(seed) | {"hvs.demo-app-token", "demo-secret-id"}
    results = {"passed": 0, "failed": 0}

    with tempfile.TemporaryDirectory() as work:
        port_file = os.path.join(work, "port")
        server = subprocess.Popen(
            [double, "--listen", "127.0.0.1:0", "--seed", seed_path, "--port-file", port_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                if os.path.exists(port_file) and open(port_file).read().strip():
                    break
                time.sleep(0.1)
            address = "http://127.0.0.1:" + open(port_file).read().strip()

            def write(name, content):
                path = os.path.join(work, name)
                with open(path, "w") as handle:
                    handle.write(content)
                return path

            token_file = write("token", "hvs.demo-app-token\n")
            secret_id_file = write("secret-id", "demo-secret-id")
            jwt = subprocess.run(
                [double, "--mint-jwt", "--key", "demo-kubernetes-signing-key", "--namespace",
                 "default", "--service-account", "app", "--audience", "vault"],
                check=True, capture_output=True, text=True).stdout.strip()
            forbidden.add(jwt)
            jwt_file = write("sa.jwt", jwt)

            def case(name, args, want_code, want_lines):
                if "--address" not in args:
                    args = ["--address", address] + args
                run = subprocess.run([secretsync, "check"] + args,
                                     capture_output=True, text=True, timeout=60,
                                     env={"PATH": os.environ.get("PATH", "")})
                output = run.stdout + run.stderr
                problems = []
                if run.returncode != want_code:
                    problems.append(f"exit code {run.returncode}, want {want_code}")
                for line in want_lines:
                    if line not in output:
                        problems.append(f"missing {line!r}")
                leaked = sorted(value for value in forbidden if value in output)
                if leaked:
                    problems.append(f"output reveals {len(leaked)} secret value(s)")
                if problems:
                    results["failed"] += 1
                    print(f"FAIL {name}: {'; '.join(problems)}\n{output}")
                else:
                    results["passed"] += 1
                    print(f"PASS {name}")

            case("token auth reads current, pinned, v1 and multi-segment paths",
                 ["--token-file", token_file, "--path", "secret/app/db",
                  "--path", "secret/app/db?version=1", "--path", "kv1/legacy/smtp",
                  "--path", "team/kv/billing/stripe", "--list", "secret/app"], 0,
                 ["read secret/app/db: version 2, 4 keys [host, password, port, username]",
                  "read secret/app/db?version=1: version 1, 2 keys",
                  "read kv1/legacy/smtp: version 0",
                  "read team/kv/billing/stripe: version 1",
                  "list secret/app: 4 secrets [api, config, db, retired]"])
            case("kubernetes auth", ["--auth", "kubernetes", "--role", "app", "--jwt-file",
                                     jwt_file, "--path", "secret/app/api"], 0,
                 ["read secret/app/api: version 1, 1 keys [api_key]"])
            case("approle auth", ["--auth", "approle", "--role-id", "demo-role-id",
                                  "--secret-id-file", secret_id_file, "--path", "secret/app/db"],
                 0, ["read secret/app/db: version 2"])
            case("failures are named and make the exit code 1",
                 ["--token-file", token_file, "--path", "secret/ops/root",
                  "--path", "secret/app/retired", "--path", "secret/app/db?version=9"], 1,
                 ["read secret/ops/root: FAILED (PERMISSION_DENIED)",
                  "read secret/app/retired: FAILED (NOT_FOUND, version deleted)",
                  "read secret/app/db?version=9: FAILED (NOT_FOUND)"])
            case("a wrong secret-id is refused without echoing it",
                 ["--auth", "approle", "--role-id", "demo-role-id", "--secret-id-file",
                  token_file, "--path", "secret/app/db"], 1,
                 ["FAILED (INVALID_ARGUMENT)"])
            case("bad flags exit 2", ["--auth", "ldap"], 2, ["--auth"])
            case("an unreachable store is UNAVAILABLE",
                 ["--address", "http://127.0.0.1:1", "--token-file", token_file,
                  "--path", "secret/app/db"], 1, ["FAILED (UNAVAILABLE)"])
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(f"{results['passed']} passed, {results['failed']} failed")
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
