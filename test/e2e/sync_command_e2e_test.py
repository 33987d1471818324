#!/usr/bin/env python3
"""End-to-end: the built `secretsync sync` and `secretsync validate` against the standalone
`vault-double` process, with the example manifests of examples/demo.

Checks the files written (layout, modes, content), that a second run rewrites nothing (same
inodes, mtimes and version directory), that failures are named and exit 1 while the files already
written stay, the offline auth options ($VAULT_TOKEN, a service-account token file), the refresh
loop and its clean stop on SIGTERM, and validate on good and bad manifests. No secret value (nor
a token or JWT) may appear in any output.

Usage: sync_command_e2e_test.py SECRETSYNC VAULT_DOUBLE SEED_JSON EXAMPLES_DIR
"""

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

from check_command_e2e_test import secret_values  # the seed's values: never printed


class Checks:
    def __init__(self, forbidden):
        self.forbidden = forbidden
        self.passed = 0
        self.failed = 0

    def check(self, name, problems, output=""):
        leaked = sorted(value for value in self.forbidden if value in output)
        if leaked:
            problems = problems + [f"output reveals {len(leaked)} secret value(s)"]
        if problems:
            self.failed += 1
            print(f"FAIL {name}: {'; '.join(problems)}\n{output}")
        else:
            self.passed += 1
            print(f"PASS {name}")


def run(secretsync, args, env=None, timeout=60):
    result = subprocess.run([secretsync] + args, capture_output=True, text=True, timeout=timeout,
                            env=env if env is not None else {"PATH": os.environ.get("PATH", "")})
    return result.returncode, result.stdout + result.stderr


def snapshot(root):
    """path -> (inode, mtime_ns, mode) of every file, and every symlink's target."""
    files, links = {}, {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                links[path] = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                files[path] = (st.st_ino, st.st_mtime_ns, stat.S_IMODE(st.st_mode))
    return files, links


def main():
    secretsync, double, seed_path, examples = sys.argv[1:5]
    seed = json.load(open(seed_path))
    forbidden = secret_values(seed) | {"hvs.demo-app-token", "demo-secret-id"}
    checks = Checks(forbidden)

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

            manifests = os.path.join(work, "manifests")
            os.mkdir(manifests)
            for name in os.listdir(os.path.join(examples, "demo")):
                text = open(os.path.join(examples, "demo", name)).read()
                with open(os.path.join(manifests, name), "w") as out:
                    out.write(text.replace("http://127.0.0.1:8200", address))
            out_dir = os.path.join(work, "out")

            # 1. One pass writes every target.
            code, output = run(secretsync, ["sync", "-f", manifests, "--output-dir", out_dir,
                                            "--once"])
            problems = [] if code == 0 else [f"exit code {code}, want 0"]
            for line in ["default/app-db: wrote " + out_dir + "/default/app-db (5 keys: owner, "
                         "password, port, previous-password, username)",
                         "default/app-all: wrote " + out_dir + "/default/app-all (3 keys: api, "
                         "config, db)",
                         "billing/stripe: wrote " + out_dir + "/billing/stripe (1 keys: "
                         "secret-key)",
                         "sync: 6 ExternalSecrets: 6 written, 0 unchanged, 0 skipped, 0 failed"]:
                if line not in output:
                    problems.append(f"missing {line!r}")
            want = {
                "default/app-db/password": "s3cr3t-db-password",
                "default/app-db/previous-password": "initial-password",
                "default/app-db/port": "5432",
                "default/app-db/owner": "payments",
                "default/app-dsn/dsn": "postgres://app:s3cr3t-db-password@db.internal:5432/app",
                "default/app-all/api": '{"api_key":"demo-api-key-1234"}',
                "default/config/feature_flags": '{"beta":true}',
                "default/smtp/user": "mailer",
                "billing/stripe/secret-key": "sk_test_demo",
            }
            for rel, content in want.items():
                path = os.path.join(out_dir, rel)
                if not os.path.exists(path) or open(path).read() != content:
                    problems.append(f"{rel}: wrong or missing content")
            files, links = snapshot(out_dir)
            bad_modes = [p for p, (_, _, mode) in files.items()
                         if mode != 0o600 and not p.endswith("..lock")]
            if bad_modes:
                problems.append(f"files not 0600: {bad_modes}")
            for folder, dirs, _ in os.walk(out_dir):
                for name in dirs:
                    st = os.lstat(os.path.join(folder, name))
                    if stat.S_ISLNK(st.st_mode):
                        continue  # ..data
                    mode = stat.S_IMODE(st.st_mode)
                    if mode != 0o700:
                        problems.append(f"{name}: directory mode {oct(mode)}")
            checks.check("sync --once writes each target owner-only", problems, output)

            # 2. A second pass writes nothing.
            code, output = run(secretsync, ["sync", "-f", manifests, "--output-dir", out_dir,
                                            "--once"])
            problems = [] if code == 0 else [f"exit code {code}, want 0"]
            if "sync: 6 ExternalSecrets: 0 written, 6 unchanged, 0 skipped, 0 failed" not in output:
                problems.append("summary does not say 6 unchanged")
            if snapshot(out_dir) != (files, links):
                problems.append("files, inodes, mtimes or links changed")
            checks.check("a second run rewrites nothing", problems, output)

            # 3. Failures: named, exit 1, and what was written stays.
            code, output = run(secretsync, ["sync", "-f", manifests, "-f",
                                            os.path.join(examples, "demo-failures.yaml"),
                                            "--output-dir", out_dir, "--once"])
            problems = [] if code == 1 else [f"exit code {code}, want 1"]
            for line in ["default/ops-root: spec.data[0].remoteRef.key: ",
                         "default/wrong-property: spec.data[0].remoteRef.property: key "
                         "\"password\" not found in secret \"secret/app/api\"",
                         "default/missing-store: spec.secretStoreRef: SecretStore "
                         "\"default/not-there\" is not in the given files",
                         "sync: 9 ExternalSecrets: 0 written, 6 unchanged, 0 skipped, 3 failed"]:
                if line not in output:
                    problems.append(f"missing {line!r}")
            if "permission denied" not in output:
                problems.append("the ops-root failure does not say permission denied")
            if snapshot(out_dir) != (files, links):
                problems.append("a failed run changed the files")
            checks.check("failures are named and exit 1", problems, output)

            # 4. Offline auth: $VAULT_TOKEN when the token Secret is not in the files, and
            # kubernetes auth with a service-account token file.
            offline = os.path.join(work, "offline.yaml")
            jwt = subprocess.run(
                [double, "--mint-jwt", "--key", "demo-kubernetes-signing-key", "--namespace",
                 "default", "--service-account", "app", "--audience", "vault"],
                check=True, capture_output=True, text=True).stdout.strip()
            checks.forbidden.add(jwt)
            jwt_file = os.path.join(work, "sa.jwt")
            with open(jwt_file, "w") as out:
                out.write(jwt)
            with open(offline, "w") as out:
                out.write(f"""apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: by-env}}
spec:
  provider:
    vault:
      server: {address}
      path: secret
      auth: {{tokenSecretRef: {{name: not-in-files, key: token}}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: by-pod}}
spec:
  provider:
    vault:
      server: {address}
      path: secret
      auth: {{kubernetes: {{role: app}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: env-token}}
spec:
  secretStoreRef: {{name: by-env}}
  data: [{{secretKey: key, remoteRef: {{key: app/api, property: api_key}}}}]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: pod-token}}
spec:
  secretStoreRef: {{name: by-pod}}
  data: [{{secretKey: key, remoteRef: {{key: app/api, property: api_key}}}}]
""")
            env = {"PATH": os.environ.get("PATH", ""), "VAULT_TOKEN": "hvs.demo-app-token"}
            code, output = run(secretsync, ["sync", "-f", offline, "--output-dir",
                                            os.path.join(work, "offline-out"), "--once",
                                            "--service-account-token-file", jwt_file], env=env)
            problems = [] if code == 0 else [f"exit code {code}, want 0"]
            for name in ["env-token", "pod-token"]:
                path = os.path.join(work, "offline-out", "default", name, "key")
                if not os.path.exists(path) or open(path).read() != "demo-api-key-1234":
                    problems.append(f"{name}: not written")
            checks.check("offline auth: $VAULT_TOKEN and --service-account-token-file",
                         problems, output)
            code, output = run(secretsync, ["sync", "-f", offline, "--output-dir",
                                            os.path.join(work, "offline-out2"), "--once",
                                            "--service-account-token-file", jwt_file])
            problems = [] if code == 1 else [f"exit code {code}, want 1"]
            if ("default/env-token: spec.secretStoreRef: SecretStore \"default/by-env\": Secret "
                    "\"default/not-in-files\" is not in the given files") not in output:
                problems.append("missing the named credential failure")
            checks.check("without $VAULT_TOKEN the missing token Secret is named", problems,
                         output)

            # 5. The loop: refreshes on --interval, picks up a new version, stops on SIGTERM.
            loop_out = os.path.join(work, "loop")
            loop = subprocess.Popen(
                [secretsync, "sync", "-f", manifests, "--output-dir", loop_out,
                 "--interval", "1s"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={"PATH": os.environ.get("PATH", "")})
            api_file = os.path.join(loop_out, "default", "app-all", "api")
            problems = []
            for _ in range(100):
                if os.path.exists(api_file):
                    break
                time.sleep(0.1)
            request = urllib.request.Request(
                address + "/v1/secret/data/app/api", method="POST",
                data=json.dumps({"data": {"api_key": "rotated-api-key-5678"}}).encode(),
                headers={"X-Vault-Token": "root", "Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=10).read()
            checks.forbidden.add("rotated-api-key-5678")
            rotated = False
            for _ in range(100):
                if os.path.exists(api_file) and "rotated-api-key-5678" in open(api_file).read():
                    rotated = True
                    break
                time.sleep(0.1)
            if not rotated:
                problems.append("the new version was not written within 10 s")
            loop.send_signal(signal.SIGTERM)
            try:
                output, _ = loop.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                loop.kill()
                output, _ = loop.communicate()
                problems.append("did not stop within 10 s of SIGTERM")
            if loop.returncode != 0:
                problems.append(f"exit code {loop.returncode} after SIGTERM, want 0")
            if "sync: stopping" not in output:
                problems.append("no stop message")
            checks.check("the refresh loop rotates and stops cleanly", problems, output)

            # 6. validate: the examples are clean; a broken manifest is named line by line.
            code, output = run(secretsync, ["validate", "-f", os.path.join(examples, "demo")])
            problems = [] if code == 0 else [f"exit code {code}, want 0"]
            if "validate: 6 ExternalSecrets, 4 stores: 0 errors, 0 warnings" not in output:
                problems.append("summary is not clean")
            checks.check("validate accepts the examples", problems, output)

            bad = os.path.join(work, "bad.yaml")
            with open(bad, "w") as out:
                out.write("""apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: broken, namespace: apps}
spec:
  secretStoreRef: {name: vault}
  target: {template: {templateFrom: [{configMap: {name: t, items: [{key: k}]}}]}}
  data: [{secretKey: "a/b", remoteRef: {key: ""}}]
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: apps}
spec:
  provider:
    vault: {server: "ftp://vault", auth: {tokenSecretRef: {name: t, key: token}}}
""")
            code, output = run(secretsync, ["validate", "-f", bad])
            problems = [] if code == 1 else [f"exit code {code}, want 1"]
            for line in [bad + ":1: ExternalSecret apps/broken: spec.data[0].secretKey: Invalid "
                         "value: \"a/b\"",
                         bad + ":1: ExternalSecret apps/broken: spec.data[0].remoteRef.key: "
                         "Required value",
                         bad + ":1: ExternalSecret apps/broken: spec.target.template.templateFrom:"
                         " Forbidden: not supported by secretsync yet",
                         bad + ":2: SecretStore apps/vault: spec.provider.vault.server: "]:
                if line not in output:
                    problems.append(f"missing {line!r}")
            checks.check("validate names file, document, object and field", problems, output)

            code, output = run(secretsync, ["sync", "-f", manifests])
            checks.check("sync without --output-dir is a usage error",
                         [] if code == 2 else [f"exit code {code}, want 2"], output)
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
