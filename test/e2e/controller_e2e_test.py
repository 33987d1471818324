#!/usr/bin/env python3
"""End-to-end: two `secretsync controller` replicas against the `kube-double` and `vault-double`
processes, as a team switching from External Secrets Operator would run them.

Checks: an unchanged ESO ExternalSecret + SecretStore (Kubernetes auth through TokenRequest, the
token verified by Vault with the API server's signing key) becomes a Secret; only the Lease holder
writes; /healthz, /readyz and /metrics answer; a Vault change plus ESO's force-sync annotation
reaches the Secret; when the leader stops, the standby takes over and keeps syncing; no secret
value ever appears in either replica's log (debug level).

Usage: controller_e2e_test.py SECRETSYNC KUBE_DOUBLE VAULT_DOUBLE VAULT_SEED_JSON
"""

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

NS = "apps-demo"
KUBE_TOKEN = "kube-double-token"
SA_KEY = "demo-kubernetes-signing-key"  # the Vault seed's kubernetes auth verifies with it

SEED = """
apiVersion: v1
kind: Namespace
metadata: {name: apps-demo}
---
apiVersion: v1
kind: Namespace
metadata: {name: secretsync-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: apps-demo}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: apps-demo}
spec:
  provider:
    vault:
      server: VAULT_ADDR
      path: secret
      version: v2
      auth:
        kubernetes:
          mountPath: kubernetes
          role: app
          serviceAccountRef: {name: app, audiences: [vault]}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: apps-demo}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault, kind: SecretStore}
  target: {name: db-creds}
  data:
  - secretKey: password
    remoteRef: {key: app/db, property: password}
  dataFrom:
  - extract: {key: app/api}
"""


def wait_for(what, condition, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def start_with_port_file(args, work, name):
    port_file = os.path.join(work, name + ".port")
    process = subprocess.Popen(args + ["--port-file", port_file],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = wait_for(name + " port", lambda: open(port_file).read().strip())
    return process, int(port)


class Replica:
    """One controller process; its log lines are collected from stderr."""

    def __init__(self, secretsync, kubeconfig, name):
        self.name = name
        self.lines = []
        self.process = subprocess.Popen(
            [secretsync, "controller", "--kubeconfig", kubeconfig, "--leader-elect",
             "--leader-election-namespace", "secretsync-system", "--health-addr", "127.0.0.1:0",
             "--metrics-addr", "127.0.0.1:0", "--log-level", "debug", "--concurrent", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def port(self, message):
        for line in list(self.lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == message:
                return int(entry["port"])
        return None

    def get(self, port_message, path):
        port = self.port(port_message)
        if port is None:
            raise OSError("no port yet")
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join(timeout=5)
        return self.process.returncode


def main():
    secretsync, kube_double, vault_double, vault_seed = sys.argv[1:5]
    failures = []

    def check(name, ok, detail=""):
        print(("ok    " if ok else "FAIL  ") + name + ("" if ok else ": " + detail))
        if not ok:
            failures.append(name)

    with tempfile.TemporaryDirectory() as work:
        vault, vault_port = start_with_port_file(
            [vault_double, "--listen", "127.0.0.1:0", "--seed", vault_seed], work, "vault")
        vault_addr = "http://127.0.0.1:%d" % vault_port
        seed_path = os.path.join(work, "kube-seed.yaml")
        with open(seed_path, "w") as handle:
            handle.write(SEED.replace("VAULT_ADDR", vault_addr))
        kubeconfig = os.path.join(work, "kubeconfig")
        kube, kube_port = start_with_port_file(
            [kube_double, "--listen", "127.0.0.1:0", "--seed", seed_path,
             "--write-kubeconfig", kubeconfig, "--service-account-key", SA_KEY,
             "--bookmark-interval-ms", "500"], work, "kube")
        api = "http://127.0.0.1:%d" % kube_port
        replicas = []

        def kube_request(method, path, body=None, content_type="application/json"):
            request = urllib.request.Request(
                api + path, method=method,
                data=None if body is None else json.dumps(body).encode(),
                headers={"Authorization": "Bearer " + KUBE_TOKEN, "Content-Type": content_type})
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        def secret_data():
            secret = kube_request("GET", "/api/v1/namespaces/%s/secrets/db-creds" % NS)
            return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}

        def vault_write(path, data):
            request = urllib.request.Request(
                vault_addr + "/v1/secret/data/" + path, method="POST",
                data=json.dumps({"data": data}).encode(),
                headers={"X-Vault-Token": "root", "Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=10).read()

        try:
            replicas = [Replica(secretsync, kubeconfig, "a"), Replica(secretsync, kubeconfig, "b")]

            data = wait_for("the Secret", lambda: secret_data() if secret_data().get(
                "password") == "s3cr3t-db-password" else None)
            check("Secret synced through Kubernetes auth + TokenRequest",
                  data == {"password": "s3cr3t-db-password", "api_key": "demo-api-key-1234"},
                  str(sorted(data)))
            es = kube_request("GET", "/apis/external-secrets.io/v1/namespaces/%s/externalsecrets/db"
                              % NS)
            ready = [c for c in es.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
            check("ExternalSecret Ready=True SecretSynced",
                  bool(ready) and ready[0]["status"] == "True" and
                  ready[0]["reason"] == "SecretSynced", json.dumps(es.get("status")))

            lease = wait_for("the Lease", lambda: kube_request(
                "GET", "/apis/coordination.k8s.io/v1/namespaces/secretsync-system/leases/"
                       "secretsync-controller"))
            holder = lease["spec"]["holderIdentity"]
            leader = next(r for r in replicas if any(holder in l for l in r.lines))
            standby = next(r for r in replicas if r is not leader)
            check("one replica holds the Lease", bool(holder), json.dumps(lease["spec"]))

            for r in replicas:
                code, body = wait_for("readyz " + r.name, lambda r=r: r.get(
                    "serving health probes", "/readyz"))
                check("replica %s /readyz" % r.name, code == 200, "%d %s" % (code, body))
                code, body = r.get("serving health probes", "/healthz")
                check("replica %s /healthz" % r.name, code == 200, "%d %s" % (code, body))
            code, metrics = leader.get("serving metrics", "/metrics")
            check("leader /metrics has Vault request counts",
                  code == 200 and "secretsync_vault_requests_total" in metrics, str(code))

            # A Vault change, then ESO's documented force-sync (an annotation change).
            vault_write("app/db", {"username": "app", "password": "rotated-1"})
            time.sleep(5.2)  # past the shared read cache window
            kube_request("PATCH", "/apis/external-secrets.io/v1/namespaces/%s/externalsecrets/db"
                         % NS, {"metadata": {"annotations": {"force-sync": "1"}}},
                         "application/merge-patch+json")
            wait_for("the rotated value",
                     lambda: secret_data().get("password") == "rotated-1")
            check("force-sync picks up a Vault change", True)

            # The leader goes away (SIGTERM releases the Lease); the standby takes over.
            leader.stop()
            vault_write("app/db", {"username": "app", "password": "rotated-2"})
            time.sleep(5.2)
            kube_request("PATCH", "/apis/external-secrets.io/v1/namespaces/%s/externalsecrets/db"
                         % NS, {"metadata": {"annotations": {"force-sync": "2"}}},
                         "application/merge-patch+json")
            try:
                wait_for("the standby's sync", lambda: secret_data().get("password") ==
                         "rotated-2", timeout=40)
                check("standby takes over after the leader stops", True)
            except AssertionError as e:
                check("standby takes over after the leader stops", False, str(e))
        finally:
            for r in replicas:
                r.stop()
            for process in (kube, vault):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)

        forbidden = ["s3cr3t-db-password", "demo-api-key-1234", "rotated-1", "rotated-2"]
        for r in replicas:
            log = "".join(r.lines)
            leaked = [v for v in forbidden if v in log]
            check("replica %s log holds no secret value" % r.name, not leaked, str(leaked))
            check("replica %s exited cleanly" % r.name, r.process.returncode == 0,
                  str(r.process.returncode) + "\n" + log[-2000:])

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all controller e2e checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
