#!/usr/bin/env python3
"""End-to-end leak scan: no secret reaches anything observable but the places it belongs.

Every secret the run handles is a unique sentinel ("LEAKCANARY-<run>-<kind>-<n>"): Vault values,
the Vault token, the AppRole secret-id, the bad and the hostile tokens, the Kubernetes API token,
plus the two service-account JWTs (opaque, scanned as they are). Then:

- `secretsync controller --log-level debug` against `kube-double` and `vault-double`, with stores
  using token, AppRole and Kubernetes (JWT from a Secret) auth, and failures that quote things: a
  path the policy refuses (403), a missing path (404), a missing property, a template error, a
  value that is not base64, a bad store credential, and a hostile Vault that answers 500 with an
  error text echoing the token and the login body it was sent;
- `secretsync csi-provider --log-level debug` answering Mount requests (through csi-mount-client)
  for a good mount and the same kinds of failures, the hostile Vault included;
- `secretsync sync --once --log-level debug` writing files.

Scanned for every sentinel: both processes' stdout/stderr, all Events, every ExternalSecret,
SecretStore and ClusterSecretStore (status included), Leases and ConfigMaps, the labels and
annotations of every Secret, /metrics of both, the CSI provider's gRPC error messages and codes,
and the sync command's output. Sentinels may appear only in the data of the Secrets they belong
to (the target Secrets and the store credentials) and in the mounted/written file contents.
Also: the files `sync` writes are 0600 in 0700 directories, Mount replies carry the requested
modes, and no process leaves a file in its private TMPDIR or next to the output directory.

Usage: leak_scan_e2e_test.py SECRETSYNC KUBE_DOUBLE VAULT_DOUBLE CSI_MOUNT_CLIENT
"""

import base64
import http.server
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

# The process helpers of the controller e2e test, shared rather than copied.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from controller_e2e_test import start_with_port_file, wait_for  # noqa: E402

RUN = secrets.token_hex(6)
NS = "leak"
SA_KEY = "leak-scan-kubernetes-signing-key"  # Vault's kubernetes auth verifies JWTs with it


def canary(kind, n=1):
    return "LEAKCANARY-%s-%s-%d" % (RUN, kind, n)


VALUES = {
    "leak/a": {"password": canary("value", 1), "username": "app-user"},
    "leak/b": {"api_key": canary("value", 2), "nested": {"inner": canary("value", 3)}},
    "leak/c": {"password": canary("value", 4)},
    "leak/d": {"cert": canary("value", 5)},
    "leak/e": {"one": canary("value", 6), "two": canary("value", 7)},
    # The policy does not grant this path: its value must appear nowhere at all.
    "private/x": {"password": canary("forbidden", 1)},
}
VAULT_TOKEN = canary("token", 1)
HOSTILE_TOKEN = canary("token", 2)
BAD_TOKEN = canary("badtoken", 1)
ROOT_TOKEN = canary("roottoken", 1)
ROLE_ID = "leak-role-id"
SECRET_ID = canary("secretid", 1)
KUBE_API_TOKEN = canary("kubetoken", 1)
BAD_JWT = canary("badjwt", 1)

POLICY = ('path "secret/data/leak/*" {\n  capabilities = ["read"]\n}\n'
          'path "secret/metadata/leak/*" {\n  capabilities = ["read", "list"]\n}\n')


def vault_seed():
    return {
        "secrets": [{"mount": "secret", "path": path, "data": data}
                    for path, data in VALUES.items()],
        "policies": [{"name": "leak-read", "hcl": POLICY}],
        "tokens": [{"id": VAULT_TOKEN, "policies": ["leak-read"], "ttl": "1h",
                    "max_ttl": "24h", "renewable": True, "display_name": "leak"}],
        "kubernetes": [{"mount": "kubernetes", "jwt_hs256_key": SA_KEY, "roles": [
            {"name": "app", "bound_service_account_names": ["app", "csi-pod"],
             "bound_service_account_namespaces": [NS], "audience": "vault",
             "token_policies": ["leak-read"], "token_ttl": "1h", "token_max_ttl": "24h"}]}],
        "approle": [{"mount": "approle", "roles": [
            {"name": "ci", "role_id": ROLE_ID, "secret_ids": [SECRET_ID],
             "token_policies": ["leak-read"], "token_ttl": "20m"}]}],
    }


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret_doc(name, data):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
            "type": "Opaque", "data": {k: b64(v) for k, v in data.items()}}


def store_doc(name, server, auth):
    return {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"provider": {"vault": {"server": server, "path": "secret", "version": "v2",
                                            "auth": auth}}}}


def es_doc(name, store, data=None, data_from=None, template=None):
    spec = {"refreshInterval": "1h", "secretStoreRef": {"name": store, "kind": "SecretStore"},
            "target": {"name": "t-" + name}}
    if data:
        spec["data"] = data
    if data_from:
        spec["dataFrom"] = data_from
    if template:
        spec["target"]["template"] = template
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


def ref(key, prop=None, **extra):
    remote = {"key": key}
    if prop:
        remote["property"] = prop
    remote.update(extra)
    return remote


# ExternalSecret name → the data its Secret must hold (None: it must fail, no Secret).
EXPECTED = {
    "es-token": {"password": canary("value", 1), "api_key": canary("value", 2),
                 "nested": json.dumps({"inner": canary("value", 3)}, separators=(",", ":"))},
    "es-approle": {"password": canary("value", 4)},
    "es-k8s": {"cert": canary("value", 5)},
    "es-forbidden": None,
    "es-missing-path": None,
    "es-missing-key": None,
    "es-template-error": None,
    "es-decode-error": None,
    "es-bad-cred": None,
    "es-hostile": None,
}


def external_secrets():
    return [
        es_doc("es-token", "by-token",
               data=[{"secretKey": "password", "remoteRef": ref("leak/a", "password")}],
               data_from=[{"extract": ref("leak/b")}]),
        es_doc("es-approle", "by-approle",
               data=[{"secretKey": "password", "remoteRef": ref("leak/c", "password")}]),
        es_doc("es-k8s", "by-k8s", data_from=[{"extract": ref("leak/d")}]),
        es_doc("es-forbidden", "by-token",
               data=[{"secretKey": "p", "remoteRef": ref("private/x", "password")}]),
        es_doc("es-missing-path", "by-token",
               data=[{"secretKey": "p", "remoteRef": ref("leak/not-there", "password")}]),
        es_doc("es-missing-key", "by-token",
               data=[{"secretKey": "p", "remoteRef": ref("leak/a", "nope")}]),
        es_doc("es-template-error", "by-token",
               data=[{"secretKey": "password", "remoteRef": ref("leak/a", "password")}],
               template={"engineVersion": "v2",
                         "data": {"decoded": "{{ .password | b64dec }}"}}),
        es_doc("es-decode-error", "by-token",
               data=[{"secretKey": "p",
                      "remoteRef": ref("leak/a", "password", decodingStrategy="Base64")}]),
        es_doc("es-bad-cred", "bad-cred",
               data=[{"secretKey": "p", "remoteRef": ref("leak/a", "password")}]),
        es_doc("es-hostile", "hostile",
               data=[{"secretKey": "p", "remoteRef": ref("leak/a", "password")}]),
    ]


def token_auth(secret_name):
    return {"tokenSecretRef": {"name": secret_name, "key": "token"}}


def kube_seed(vault_addr, hostile_addr, store_jwt):
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": NS}},
        secret_doc("vault-token", {"token": VAULT_TOKEN}),
        secret_doc("bad-token", {"token": BAD_TOKEN}),
        secret_doc("hostile-token", {"token": HOSTILE_TOKEN}),
        secret_doc("approle", {"secret-id": SECRET_ID}),
        secret_doc("sa-jwt", {"token": store_jwt}),
        store_doc("by-token", vault_addr, token_auth("vault-token")),
        store_doc("bad-cred", vault_addr, token_auth("bad-token")),
        store_doc("hostile", hostile_addr, token_auth("hostile-token")),
        store_doc("by-approle", vault_addr, {"appRole": {
            "path": "approle", "roleId": ROLE_ID,
            "secretRef": {"name": "approle", "key": "secret-id"}}}),
        store_doc("by-k8s", vault_addr, {"kubernetes": {
            "mountPath": "kubernetes", "role": "app",
            "secretRef": {"name": "sa-jwt", "key": "token"}}}),
    ]
    return docs + external_secrets()


class HostileVault(http.server.ThreadingHTTPServer):
    """A "Vault" that answers every request with a 500 whose error text quotes the token header
    and the request body it was sent (a login's JWT or secret-id): the worst an upstream can do."""

    daemon_threads = True

    def __init__(self):
        outer = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                outer.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode(errors="replace") if length else ""
                token = self.headers.get("X-Vault-Token", "")
                reply = json.dumps({"errors": [
                    "internal error: storage failed for token %s" % token,
                    "request was: %s" % body]}).encode()
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = do_LIST = _answer

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def address(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class Process:
    """A child whose stdout and stderr are both kept, for the scan."""

    def __init__(self, args, env):
        self.args = args
        self.out = []
        self.err = []
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, errors="replace", env=env)
        self.readers = [threading.Thread(target=self._read, args=(s, sink), daemon=True)
                        for s, sink in ((self.process.stdout, self.out),
                                        (self.process.stderr, self.err))]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, sink):
        for line in stream:
            sink.append(line)

    def text(self):
        return "".join(self.out) + "".join(self.err)

    def json_field(self, message, field):
        for line in list(self.out) + list(self.err):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == message and field in entry:
                return entry[field]
        return None

    def stop(self):
        terminate(self.process)
        for reader in self.readers:
            reader.join(timeout=5)
        return self.process.returncode


def terminate(process):
    """SIGTERM, then SIGKILL if it has not exited in 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def mint_jwt(vault_double, service_account):
    return subprocess.run(
        [vault_double, "--mint-jwt", "--key", SA_KEY, "--namespace", NS, "--service-account",
         service_account, "--audience", "vault"],
        check=True, capture_output=True, text=True).stdout.strip()


def needles(jwts):
    """What counts as a leak: any sentinel of this run as text, each sentinel base64-encoded, and
    the JWTs (whole, and their signatures alone)."""
    prefix = "LEAKCANARY-" + RUN
    found = {prefix: "a sentinel"}
    # Base64 of a sentinel at any of the three byte alignments inside a larger encoded blob: skip
    # the first 4-character group, which mixes in the bytes before it.
    for shift in range(3):
        encoded = b64("\0" * shift + prefix)
        start = 4 if shift else 0
        found[encoded[start:start + 16]] = "a base64-encoded sentinel"
    for jwt in jwts:
        found[jwt] = "a service-account JWT"
        found[jwt.rsplit(".", 1)[-1]] = "a JWT signature"
    return found


def scanner_self_test(patterns):
    """The scan finds a planted sentinel, plain or base64-encoded at each alignment: a scan that
    cannot find anything would pass for the wrong reason."""
    planted = canary("selftest", 9)
    samples = [planted, json.dumps({"x": planted})]
    samples += [b64(pad + planted) for pad in ("", "a", "ab")]
    return all(any(needle in sample for needle in patterns) for sample in samples) and not any(
        needle in "LEAKCANARY-000000000000-value-1 " + b64("nothing here") for needle in patterns)


def scan(name, text, patterns, failures):
    hits = sorted({what for needle, what in patterns.items() if needle in text})
    if hits:
        where = [line.strip()[:300] for line in text.splitlines()
                 if any(needle in line for needle in patterns)][:3]
        failures.append("%s leaks %s: %s" % (name, ", ".join(hits), " | ".join(where)))
    return not hits


def tree_modes(root):
    """(path, mode) of every directory and regular file under root (symlinks are not followed)."""
    out = []
    for directory, dirs, files in os.walk(root):
        out.append((directory, stat.S_IMODE(os.lstat(directory).st_mode)))
        for name in files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                out.append((path, stat.S_IMODE(st.st_mode)))
    return out


def main():
    secretsync, kube_double, vault_double, mount_client = sys.argv[1:5]
    failures = []

    def check(name, ok, detail=""):
        print(("ok    " if ok else "FAIL  ") + name + ("" if ok else ": " + detail))
        if not ok:
            failures.append(name + ": " + detail)
        return ok

    with tempfile.TemporaryDirectory() as work:
        os.chmod(work, 0o700)
        private_tmp = os.path.join(work, "tmp")
        os.mkdir(private_tmp, 0o700)
        env = dict(os.environ, TMPDIR=private_tmp)
        env.pop("VAULT_TOKEN", None)

        seed_path = os.path.join(work, "vault-seed.json")
        with open(seed_path, "w") as handle:
            json.dump(vault_seed(), handle)
        vault, vault_port = start_with_port_file(
            [vault_double, "--listen", "127.0.0.1:0", "--seed", seed_path,
             "--root-token", ROOT_TOKEN], work, "vault")
        vault_addr = "http://127.0.0.1:%d" % vault_port
        hostile = HostileVault()
        threading.Thread(target=hostile.serve_forever, daemon=True).start()

        store_jwt = mint_jwt(vault_double, "app")
        pod_jwt = mint_jwt(vault_double, "csi-pod")
        patterns = needles([store_jwt, pod_jwt])
        check("the scanner finds planted sentinels (plain, JSON, base64)",
              scanner_self_test(patterns))

        kube_seed_path = os.path.join(work, "kube-seed.json")
        with open(kube_seed_path, "w") as handle:
            json.dump(kube_seed(vault_addr, hostile.address, store_jwt), handle)
        kubeconfig = os.path.join(work, "kubeconfig")
        kube, kube_port = start_with_port_file(
            [kube_double, "--listen", "127.0.0.1:0", "--seed", kube_seed_path,
             "--token", "admin=" + KUBE_API_TOKEN, "--write-kubeconfig", kubeconfig,
             "--service-account-key", SA_KEY], work, "kube")
        api = "http://127.0.0.1:%d" % kube_port
        processes = []
        observed = {}  # name → text to scan

        def kube_get(path):
            return json.loads(http_get(api + path, {"Authorization": "Bearer " + KUBE_API_TOKEN}))

        try:
            # --- the controller ---
            controller = Process(
                [secretsync, "controller", "--kubeconfig", kubeconfig, "--log-level", "debug",
                 "--log-format", "json", "--health-addr", "127.0.0.1:0",
                 "--metrics-addr", "127.0.0.1:0", "--concurrent", "2"], env)
            processes.append(controller)

            def es_ready(name):
                es = kube_get("/apis/external-secrets.io/v1/namespaces/%s/externalsecrets/%s"
                              % (NS, name))
                for condition in es.get("status", {}).get("conditions", []):
                    if condition["type"] == "Ready":
                        return condition
                return None

            def settled():
                for name, expected in EXPECTED.items():
                    condition = es_ready(name)
                    if condition is None:
                        return False
                    if condition["status"] != ("True" if expected is not None else "False"):
                        return False
                return True

            wait_for("every ExternalSecret to settle", settled, timeout=90)
            for name, expected in EXPECTED.items():
                condition = es_ready(name)
                if expected is None:
                    check(name + " fails with Ready=False", condition["status"] == "False",
                          json.dumps(condition))
                    print("      %s: %s" % (name, condition.get("message", "")[:160]))
                    continue
                secret = kube_get("/api/v1/namespaces/%s/secrets/t-%s" % (NS, name))
                data = {k: base64.b64decode(v).decode()
                        for k, v in secret.get("data", {}).items()}
                check(name + " synced the sentinel values", data == expected,
                      "keys %s" % sorted(data))
            # Each failing ExternalSecret has its Warning event before we scan events.
            failing = {n for n, e in EXPECTED.items() if e is None}
            wait_for("a Warning event for every failing ExternalSecret", lambda: failing <= {
                e["involvedObject"]["name"] for e in kube_get("/api/v1/events")["items"]
                if e.get("type") == "Warning"}, timeout=60)
            wait_for("every SecretStore's Ready condition", lambda: all(
                any(c["type"] == "Ready" for c in s.get("status", {}).get("conditions", []))
                for s in kube_get("/apis/external-secrets.io/v1/namespaces/%s/secretstores"
                                  % NS)["items"]), timeout=60)
            check("the hostile Vault was asked (its 500s are in the scan)", hostile.requests > 0)

            metrics_port = wait_for("controller metrics port",
                                    lambda: controller.json_field("serving metrics", "port"), 60)
            observed["controller /metrics"] = http_get(
                "http://127.0.0.1:%d/metrics" % metrics_port)
            observed["events"] = json.dumps(kube_get("/api/v1/events"))
            observed["externalsecrets"] = json.dumps(
                kube_get("/apis/external-secrets.io/v1/externalsecrets"))
            observed["externalsecrets v1beta1"] = json.dumps(
                kube_get("/apis/external-secrets.io/v1beta1/externalsecrets"))
            stores = kube_get("/apis/external-secrets.io/v1/secretstores")
            observed["secretstores"] = json.dumps(stores)
            observed["clustersecretstores"] = json.dumps(
                kube_get("/apis/external-secrets.io/v1/clustersecretstores"))
            observed["configmaps"] = json.dumps(kube_get("/api/v1/configmaps"))
            observed["leases"] = json.dumps(kube_get("/apis/coordination.k8s.io/v1/leases"))
            for s in stores["items"]:
                ready = [c for c in s.get("status", {}).get("conditions", [])
                         if c["type"] == "Ready"]
                print("      store %s: %s" % (s["metadata"]["name"],
                                              ready[0].get("message", "")[:160] if ready else "-"))
            # Secrets: sentinels belong in their data, never in metadata; and only the target
            # Secrets and the seeded credentials hold any.
            allowed = {"t-" + n for n, e in EXPECTED.items() if e is not None}
            allowed |= {"vault-token", "bad-token", "hostile-token", "approle", "sa-jwt"}
            all_secrets = json.dumps(kube_get("/api/v1/secrets"))
            check("the value the policy refuses is in no Secret",
                  b64(canary("forbidden", 1)) not in all_secrets and
                  canary("forbidden", 1) not in all_secrets)
            for secret in kube_get("/api/v1/secrets")["items"]:
                name = secret["metadata"]["name"]
                observed["Secret %s metadata" % name] = json.dumps(secret["metadata"])
                if name not in allowed:
                    observed["Secret %s" % name] = json.dumps(secret)
            print("      %s Secrets, %s events" % (len(kube_get("/api/v1/secrets")["items"]),
                                                  len(kube_get("/api/v1/events")["items"])))
            check("controller exits 0 on SIGTERM", controller.stop() == 0,
                  str(controller.process.returncode))
            observed["controller stdout+stderr"] = controller.text()
            # No code logs at debug level today; the run at debug still proves that turning it on
            # for troubleshooting shows no secret.
            print("      controller: %d log lines" % len(controller.text().splitlines()))

            # --- the CSI provider ---
            socket_path = os.path.join(work, "csi.sock")
            provider = Process(
                [secretsync, "csi-provider", "--socket", socket_path, "--vault-addr", vault_addr,
                 "--log-level", "debug", "--metrics-addr", "127.0.0.1:0",
                 "--no-token-request-fallback"], env)
            processes.append(provider)
            wait_for("the provider socket", lambda: os.path.exists(socket_path))

            def mount_request(objects, tokens, vault_address=None, service_account="csi-pod"):
                attributes = {
                    "secretProviderClass": "leak-spc", "roleName": "app", "objects": objects,
                    "csi.storage.k8s.io/pod.name": "pod-0",
                    "csi.storage.k8s.io/pod.namespace": NS,
                    "csi.storage.k8s.io/pod.uid": "uid-0",
                    "csi.storage.k8s.io/serviceAccount.name": service_account,
                    "csi.storage.k8s.io/serviceAccount.tokens": json.dumps({"vault": {
                        "token": tokens, "expirationTimestamp": "2099-01-01T00:00:00Z"}}),
                }
                if vault_address:
                    attributes["vaultAddress"] = vault_address
                return {"attributes": json.dumps(attributes), "secrets": "{}",
                        "permission": "420",
                        "target_path": "/var/lib/kubelet/pods/uid-0/volumes/x/mount"}

            good_objects = ("- {objectName: one, secretPath: secret/data/leak/e, secretKey: one,"
                            " filePermission: 0600}\n"
                            "- {objectName: two, secretPath: secret/data/leak/e, secretKey: two}\n")
            mounts = {
                "good": mount_request(good_objects, pod_jwt),
                "forbidden": mount_request(
                    "- {objectName: x, secretPath: secret/data/private/x, secretKey: password}\n",
                    pod_jwt),
                "missing key": mount_request(
                    "- {objectName: x, secretPath: secret/data/leak/e, secretKey: nope}\n",
                    pod_jwt),
                "missing path": mount_request(
                    "- {objectName: x, secretPath: secret/data/leak/none, secretKey: one}\n",
                    pod_jwt),
                "decode error": mount_request(
                    "- {objectName: x, secretPath: secret/data/leak/e, secretKey: one,"
                    " encoding: base64}\n", pod_jwt),
                "bad pod token": mount_request(
                    "- {objectName: x, secretPath: secret/data/leak/e, secretKey: one}\n",
                    BAD_JWT, service_account="other"),
                "hostile vault": mount_request(
                    "- {objectName: x, secretPath: secret/data/leak/e, secretKey: one}\n",
                    pod_jwt, hostile.address),
            }
            client = subprocess.run(
                [mount_client, socket_path],
                input="".join(json.dumps(r) + "\n" for r in mounts.values()),
                capture_output=True, text=True, timeout=120)
            check("csi-mount-client ran", client.returncode == 0, client.stderr[-500:])
            replies = dict(zip(mounts, [json.loads(line) for line in client.stdout.splitlines()]))
            check("a reply for every mount", len(replies) == len(mounts), client.stdout[-500:])
            good = replies.get("good", {})
            files = {f["path"]: f for f in good.get("files", [])}
            contents = {p: base64.b64decode(f["contents_base64"]).decode()
                        for p, f in files.items()}
            check("good mount returns the sentinel values",
                  good.get("grpc_code") == 0 and
                  contents == {"one": canary("value", 6), "two": canary("value", 7)},
                  json.dumps({k: v for k, v in good.items() if k != "files"}))
            check("mount file modes are the requested ones (0600; unset: the driver's 0644)",
                  {p: f["mode"] for p, f in files.items()} == {"one": 0o600, "two": 0o644},
                  str({p: oct(f["mode"]) for p, f in files.items()}))
            for name, reply in replies.items():
                if name == "good":
                    continue
                check("csi %s fails" % name, reply["grpc_code"] != 0 and not reply["files"],
                      json.dumps(reply)[:300])
                print("      csi %s: %s" % (name, reply["grpc_message"][:160]))
                observed["csi %s reply" % name] = reply["grpc_message"] + " " + reply[
                    "error_code"] + " " + json.dumps(reply["versions"])
            observed["csi good reply versions"] = json.dumps(good.get("versions"))
            metrics_port = wait_for("provider metrics port",
                                    lambda: provider.json_field("serving metrics", "port"))
            observed["csi-provider /metrics"] = http_get(
                "http://127.0.0.1:%d/metrics" % metrics_port)
            check("csi-provider exits 0 on SIGTERM", provider.stop() == 0,
                  str(provider.process.returncode))
            observed["csi-provider stdout+stderr"] = provider.text()
            check("csi-provider logged the failed mounts (their errors are in the scan)",
                  provider.text().count('"msg":"csi mount failed"') == len(mounts) - 1,
                  provider.text()[-500:])

            # --- secretsync sync: files, modes, temp files ---
            sync_dir = os.path.join(work, "sync")
            manifests = os.path.join(sync_dir, "manifests")
            output = os.path.join(sync_dir, "out")
            os.makedirs(manifests)
            docs = [secret_doc("vault-token", {"token": VAULT_TOKEN}),
                    store_doc("by-token", vault_addr, token_auth("vault-token"))]
            docs += [d for d in external_secrets() if d["metadata"]["name"] in (
                "es-token", "es-forbidden", "es-missing-key", "es-template-error",
                "es-decode-error")]
            with open(os.path.join(manifests, "all.json"), "w") as handle:
                json.dump({"apiVersion": "v1", "kind": "List", "items": docs}, handle)
            sync = subprocess.run(
                [secretsync, "sync", "-f", manifests, "--output-dir", output, "--once",
                 "--log-level", "debug"], capture_output=True, text=True, env=env, timeout=120)
            observed["sync stdout+stderr"] = sync.stdout + sync.stderr
            check("sync --once exits 1 (some ExternalSecrets fail)", sync.returncode == 1,
                  "%d: %s" % (sync.returncode, sync.stderr[-500:]))
            target = os.path.join(output, NS, "t-es-token")
            written = {}
            for key in ("password", "api_key", "nested"):
                try:
                    with open(os.path.join(target, key)) as handle:
                        written[key] = handle.read()
                except OSError:
                    pass
            check("sync wrote the sentinel values", written == EXPECTED["es-token"],
                  "keys %s" % sorted(written))
            modes = tree_modes(output)
            loose = [(p, oct(m)) for p, m in modes if m & 0o077]
            check("sync files and directories are owner-only", modes and not loose, str(loose))
            files_0600 = [p for p, m in modes if os.path.isfile(p) and m != 0o600]
            check("sync files are 0600", not files_0600, str(files_0600))
            check("nothing written next to the output directory",
                  sorted(os.listdir(sync_dir)) == ["manifests", "out"],
                  str(os.listdir(sync_dir)))
            check("no process left a file in its TMPDIR", os.listdir(private_tmp) == [],
                  str(os.listdir(private_tmp)))

            # --- the scan ---
            for name, text in sorted(observed.items()):
                scan(name, text, patterns, failures)
            print("scanned %d sources (%d bytes) for %d patterns" % (
                len(observed), sum(len(t) for t in observed.values()), len(patterns)))
        finally:
            for process in processes:
                process.stop()
            hostile.shutdown()
            for process in (kube, vault):
                terminate(process)

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("leak scan e2e: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
