#!/usr/bin/env python3
"""Checks the kube-double binary against clients no one here wrote: Debian's python3-kubernetes
and, when installed, kubectl.

Usage: kube_double_client_test.py PATH/TO/kube-double

Makes a throwaway self-signed certificate with the openssl CLI, starts the binary over HTTPS with
a seed, --port-file and --write-kubeconfig, and talks to it only through the official Python
client (configured from that kubeconfig) and kubectl. If a real client trips on a reply, the
double is wrong. Stops the binary with SIGTERM and expects a clean exit.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

TOKEN = "client-test-token"
NS = "client-test"
ES_GROUP = "external-secrets.io"

SEED = """
apiVersion: v1
kind: Namespace
metadata:
  name: client-test
  labels:
    team: platform
---
apiVersion: v1
kind: Secret
metadata:
  name: seeded
  namespace: client-test
  labels:
    origin: seed
stringData:
  hello: world
"""


class Runner:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn, *args):
        try:
            fn(*args)
            self.passed += 1
            print("PASS", name, flush=True)
        except Exception:  # noqa: BLE001 - report every failure and continue
            self.failed += 1
            print("FAIL", name, flush=True)
            traceback.print_exc()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_api_error(status, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        expect(e.status == status, "want HTTP %d, got %d: %s" % (status, e.status, e.body))
        return json.loads(e.body) if e.body and e.body.startswith("{") else e.body
    raise AssertionError("want HTTP %d, call succeeded" % status)


def test_secrets(core):
    listed = core.list_namespaced_secret(NS, label_selector="origin=seed")
    expect([s.metadata.name for s in listed.items] == ["seeded"], "seeded secret listed")
    expect(listed.metadata.resource_version, "list carries a resourceVersion")
    expect(base64.b64decode(listed.items[0].data["hello"]) == b"world", "stringData merged")

    body = client.V1Secret(metadata=client.V1ObjectMeta(name="py-secret", labels={"app": "py"}),
                           data={"user": b64("alice")}, type="Opaque")
    created = core.create_namespaced_secret(NS, body)
    expect(created.metadata.uid and created.metadata.resource_version, "server fields set")
    expect(created.metadata.creation_timestamp is not None, "creationTimestamp parsed")

    err = expect_api_error(409, core.create_namespaced_secret, NS, body)
    expect(err["reason"] == "AlreadyExists" and err["details"]["kind"] == "secrets", err)

    patched = core.patch_namespaced_secret("py-secret", NS, {"data": {"pass": b64("s3cr3t")}})
    expect(set(patched.data) == {"user", "pass"}, "strategic merge patch merged data")

    stale = core.read_namespaced_secret("py-secret", NS)
    stale.metadata.resource_version = created.metadata.resource_version
    err = expect_api_error(409, core.replace_namespaced_secret, "py-secret", NS, stale)
    expect(err["reason"] == "Conflict", err)

    bad = client.V1Secret(metadata=client.V1ObjectMeta(name="Bad_Name"), data={})
    err = expect_api_error(422, core.create_namespaced_secret, NS, bad)
    expect(err["reason"] == "Invalid" and err["details"]["kind"] == "Secret", err)

    page1 = core.list_namespaced_secret(NS, limit=1)
    expect(len(page1.items) == 1 and page1.metadata._continue, "first page with continue")
    page2 = core.list_namespaced_secret(NS, limit=1, _continue=page1.metadata._continue)
    expect(len(page2.items) == 1 and page2.items[0].metadata.name != page1.items[0].metadata.name,
           "second page")

    status = core.delete_namespaced_secret("py-secret", NS)
    expect(status.status == "Success", "delete returns a Success Status")
    expect_api_error(404, core.read_namespaced_secret, "py-secret", NS)


def test_namespaces_and_configmaps(core):
    ns = core.read_namespace(NS)
    expect(ns.metadata.labels.get("team") == "platform", "namespace labels seeded")
    listed = core.list_namespace(label_selector="team in (platform,other)")
    expect([n.metadata.name for n in listed.items] == [NS], "namespace selector")
    cm = core.create_namespaced_config_map(
        NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="ca"), data={"ca.crt": "PEM"}))
    expect(cm.data["ca.crt"] == "PEM", "configmap data")
    core.delete_namespaced_config_map("ca", NS)


def test_custom_objects(custom):
    es = {
        "apiVersion": ES_GROUP + "/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "db"},
        "spec": {"refreshInterval": "1h", "target": {"name": "db-creds"}},
        "status": {"ignored": True},
    }
    created = custom.create_namespaced_custom_object(ES_GROUP, "v1", NS, "externalsecrets", es)
    expect(created["metadata"]["generation"] == 1, "generation 1")
    expect("status" not in created, "status dropped on create")

    status = {"status": {"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "True", "reason": "SecretSynced", "message": "",
         "lastTransitionTime": "2026-08-01T12:00:05Z"}]}}
    after = custom.patch_namespaced_custom_object_status(ES_GROUP, "v1", NS, "externalsecrets",
                                                         "db", status)
    expect(after["status"]["conditions"][0]["type"] == "Ready", "status written")
    expect(after["metadata"]["generation"] == 1, "status does not bump generation")

    spec = custom.patch_namespaced_custom_object(ES_GROUP, "v1", NS, "externalsecrets", "db",
                                                 {"spec": {"refreshInterval": "5m"},
                                                  "status": {"observedGeneration": 99}})
    expect(spec["metadata"]["generation"] == 2, "spec change bumps generation")
    expect(spec["status"]["observedGeneration"] == 1, "main endpoint ignores status")

    old = custom.get_namespaced_custom_object(ES_GROUP, "v1beta1", NS, "externalsecrets", "db")
    expect(old["apiVersion"] == ES_GROUP + "/v1beta1", "served at the requested version")
    got = custom.get_namespaced_custom_object_status(ES_GROUP, "v1", NS, "externalsecrets", "db")
    expect(got["status"]["observedGeneration"] == 1, "read status")

    store = {"apiVersion": ES_GROUP + "/v1", "kind": "ClusterSecretStore",
             "metadata": {"name": "vault"}, "spec": {"provider": {"vault": {}}}}
    custom.create_cluster_custom_object(ES_GROUP, "v1", "clustersecretstores", store)
    listed = custom.list_cluster_custom_object(ES_GROUP, "v1", "clustersecretstores")
    expect([i["metadata"]["name"] for i in listed["items"]] == ["vault"], "cluster list")
    expect(listed["items"][0]["kind"] == "ClusterSecretStore", "CR list items carry kind")
    custom.delete_cluster_custom_object(ES_GROUP, "v1", "clustersecretstores", "vault")

    custom.patch_namespaced_custom_object(ES_GROUP, "v1", NS, "externalsecrets", "db",
                                          {"metadata": {"finalizers": ["example.io/cleanup"]}})
    deleting = custom.delete_namespaced_custom_object(ES_GROUP, "v1", NS, "externalsecrets", "db")
    expect(deleting["metadata"].get("deletionTimestamp"), "finalizer keeps the object")
    custom.patch_namespaced_custom_object(ES_GROUP, "v1", NS, "externalsecrets", "db",
                                          {"metadata": {"finalizers": None}})
    expect_api_error(404, custom.get_namespaced_custom_object, ES_GROUP, "v1", NS,
                     "externalsecrets", "db")


def test_watch(core):
    start = core.list_namespaced_secret(NS).metadata.resource_version
    seen = []
    errors = []

    def consume():
        try:
            w = watch.Watch()
            for event in w.stream(core.list_namespaced_secret, NS, resource_version=start,
                                  timeout_seconds=10, label_selector="watched=yes"):
                seen.append((event["type"], event["object"].metadata.name))
                if event["type"] == "DELETED":
                    w.stop()
        except Exception as e:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(e)

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.5)
    meta = client.V1ObjectMeta(name="watched", labels={"watched": "yes"})
    core.create_namespaced_secret(NS, client.V1Secret(metadata=meta, data={"a": b64("1")}))
    core.patch_namespaced_secret("watched", NS, {"data": {"a": b64("2")}})
    core.delete_namespaced_secret("watched", NS)
    t.join(15)
    expect(not t.is_alive(), "watch ended after DELETED")
    expect(not errors, "watch raised %r" % errors)
    expect(seen == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")],
           "events: %r" % seen)


def test_custom_watch(custom):
    seen = []

    def consume():
        w = watch.Watch()
        for event in w.stream(custom.list_namespaced_custom_object, ES_GROUP, "v1", NS,
                              "secretstores", timeout_seconds=10):
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.5)
    store = {"apiVersion": ES_GROUP + "/v1", "kind": "SecretStore", "metadata": {"name": "s"},
             "spec": {"provider": {"vault": {"server": "http://vault"}}}}
    custom.create_namespaced_custom_object(ES_GROUP, "v1", NS, "secretstores", store)
    custom.patch_namespaced_custom_object(ES_GROUP, "v1", NS, "secretstores", "s",
                                          {"spec": {"provider": {"vault": {"path": "kv"}}}})
    custom.delete_namespaced_custom_object(ES_GROUP, "v1", NS, "secretstores", "s")
    t.join(15)
    expect(seen == [("ADDED", "s"), ("MODIFIED", "s"), ("DELETED", "s")], "events: %r" % seen)


def test_token_request_and_review(core, auth):
    core.create_namespaced_service_account(
        NS, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="syncer")))
    req = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["vault"], expiration_seconds=600))
    issued = core.create_namespaced_service_account_token("syncer", NS, req)
    expect(issued.status.token.count(".") == 2, "a JWT")
    expect(issued.status.expiration_timestamp is not None, "expirationTimestamp")
    review = auth.create_token_review(client.V1TokenReview(
        spec=client.V1TokenReviewSpec(token=issued.status.token, audiences=["vault"])))
    expect(review.status.authenticated, "token review accepts it")
    expect(review.status.user.username == "system:serviceaccount:%s:syncer" % NS, "username")
    review = auth.create_token_review(client.V1TokenReview(
        spec=client.V1TokenReviewSpec(token=issued.status.token, audiences=["other"])))
    expect(not review.status.authenticated and review.status.error, "wrong audience refused")
    short = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["vault"], expiration_seconds=60))
    expect_api_error(422, core.create_namespaced_service_account_token, "syncer", NS, short)


def test_leases_and_events(coordination, core):
    lease = client.V1Lease(metadata=client.V1ObjectMeta(name="leader"),
                           spec=client.V1LeaseSpec(holder_identity="a", lease_duration_seconds=15))
    created = coordination.create_namespaced_lease(NS, lease)
    created.spec.holder_identity = "b"
    coordination.replace_namespaced_lease("leader", NS, created)
    created.spec.holder_identity = "c"
    expect_api_error(409, coordination.replace_namespaced_lease, "leader", NS, created)
    ev = client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="db.1"),
        involved_object=client.V1ObjectReference(kind="ExternalSecret", name="db", namespace=NS),
        reason="Synced", message="ok", type="Normal")
    core.create_namespaced_event(NS, ev)
    listed = core.list_namespaced_event(NS, field_selector="involvedObject.name=db")
    expect([e.reason for e in listed.items] == ["Synced"], "event listed")


def test_unauthenticated(port, ca_file):
    cfg = client.Configuration()
    cfg.host = "https://127.0.0.1:%d" % port
    cfg.ssl_ca_cert = ca_file
    cfg.api_key = {"authorization": "Bearer wrong"}
    err = expect_api_error(401, client.CoreV1Api(client.ApiClient(cfg)).list_namespace)
    expect(err["reason"] == "Unauthorized", err)


def kubectl(kubeconfig, *args, stdin=None):
    out = subprocess.run(["kubectl", "--kubeconfig", kubeconfig] + list(args), input=stdin,
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("kubectl %s: %s%s" % (" ".join(args), out.stdout, out.stderr))
    return out.stdout


def test_kubectl(kubeconfig):
    manifest = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: from-kubectl\n"
                "  namespace: %s\nstringData:\n  a: b\n" % NS)
    kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", stdin=manifest)
    kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", stdin=manifest.replace("a: b", "a: c"))
    got = json.loads(kubectl(kubeconfig, "get", "secret", "from-kubectl", "-n", NS, "-o", "json"))
    expect(base64.b64decode(got["data"]["a"]) == b"c", "kubectl apply updated the data")
    names = kubectl(kubeconfig, "get", "secrets", "-n", NS, "-o", "name")
    expect("secret/from-kubectl" in names.split(), names)
    kubectl(kubeconfig, "apply", "--server-side", "--validate=false", "-f", "-", stdin=manifest)
    es = ("apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n"
          "  name: via-kubectl\n  namespace: %s\nspec:\n  refreshInterval: 1h\n" % NS)
    kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", stdin=es)
    kubectl(kubeconfig, "apply", "--validate=false", "-f", "-",
            stdin=es.replace("1h", "2h"))
    got = json.loads(kubectl(kubeconfig, "get", "externalsecrets.external-secrets.io",
                             "via-kubectl", "-n", NS, "-o", "json"))
    expect(got["spec"]["refreshInterval"] == "2h" and got["metadata"]["generation"] == 2, got)
    kubectl(kubeconfig, "get", "ns")
    kubectl(kubeconfig, "delete", "secret", "from-kubectl", "-n", NS)
    kubectl(kubeconfig, "delete", "-n", NS, "externalsecrets.external-secrets.io", "via-kubectl")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="kube-double-client-")
    proc = None
    try:
        key = os.path.join(tmp, "tls.key")
        crt = os.path.join(tmp, "tls.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "1", "-subj", "/CN=kube-double",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        seed = os.path.join(tmp, "seed.yaml")
        with open(seed, "w") as f:
            f.write(SEED)
        port_file = os.path.join(tmp, "port")
        kubeconfig = os.path.join(tmp, "kubeconfig")
        proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--seed", seed, "--token", "tester=" + TOKEN,
             "--tls-cert", crt, "--tls-key", key, "--tls-ca", crt, "--port-file", port_file,
             "--write-kubeconfig", kubeconfig, "--bookmark-interval-ms", "200"],
            stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if "kube-double listening on https://127.0.0.1:" not in line:
            print("unexpected first line: %r" % line)
            return 1
        with open(port_file) as f:
            port = int(f.read().strip())

        config.load_kube_config(config_file=kubeconfig)
        core = client.CoreV1Api()
        custom = client.CustomObjectsApi()
        runner = Runner()
        runner.run("secrets", test_secrets, core)
        runner.run("namespaces_and_configmaps", test_namespaces_and_configmaps, core)
        runner.run("custom_objects", test_custom_objects, custom)
        runner.run("watch", test_watch, core)
        runner.run("custom_watch", test_custom_watch, custom)
        runner.run("token_request_and_review", test_token_request_and_review, core,
                   client.AuthenticationV1Api())
        runner.run("leases_and_events", test_leases_and_events, client.CoordinationV1Api(), core)
        runner.run("unauthenticated", test_unauthenticated, port, crt)
        if shutil.which("kubectl"):
            runner.run("kubectl", test_kubectl, kubeconfig)
        else:
            print("SKIP kubectl (not installed)")

        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        proc = None
        if rc != 0:
            print("kube-double exited with %d" % rc)
            runner.failed += 1
        print("%d passed, %d failed" % (runner.passed, runner.failed))
        return 0 if runner.failed == 0 else 1
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
