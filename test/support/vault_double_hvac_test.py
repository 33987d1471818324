#!/usr/bin/env python3
"""Checks the vault-double binary against hvac, an independent Vault client (Debian python3-hvac).

Usage: vault_double_hvac_test.py PATH/TO/vault-double

Starts the binary with testdata/demo_seed.json, talks to it only through hvac, then stops it with
SIGTERM and expects a clean exit. If hvac trips on a reply, the double is wrong.
"""

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import hvac
import hvac.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = os.path.join(HERE, "testdata", "demo_seed.json")
K8S_KEY = "demo-kubernetes-signing-key"
JWT_KEY = "demo-jwt-signing-key"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_hs256(key, claims):
    """A tiny HS256 JWT minter, independent of the C++ one."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = (header + "." + payload).encode()
    sig = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return header + "." + payload + "." + b64url(sig)


class Runner:
    def __init__(self, binary):
        self.binary = binary
        self.passed = 0
        self.failed = 0

    def run(self, name, fn, *args):
        try:
            fn(*args)
            self.passed += 1
            print("PASS", name)
        except Exception:  # noqa: BLE001 - report every failure and continue
            self.failed += 1
            print("FAIL", name)
            traceback.print_exc()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_raises(exc, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc as e:
        return e
    raise AssertionError("expected %s" % exc.__name__)


def test_kv2(url):
    client = hvac.Client(url=url, token="root")
    check(client.is_authenticated(), "root token authenticates")
    secret = client.secrets.kv.v2.read_secret_version(path="app/db", mount_point="secret")
    check(secret["data"]["data"]["password"] == "s3cr3t-db-password", secret)
    check(secret["data"]["metadata"]["version"] == 2, secret)
    check(secret["data"]["metadata"]["custom_metadata"]["owner"] == "payments", secret)
    v1 = client.secrets.kv.v2.read_secret_version(path="app/db", version=1, mount_point="secret")
    check(v1["data"]["data"]["password"] == "initial-password", v1)

    listed = client.secrets.kv.v2.list_secrets(path="app", mount_point="secret")
    check(listed["data"]["keys"] == ["api", "config", "db", "retired"], listed)
    # A soft-deleted current version: Vault answers 404 with an envelope and no `errors`, which
    # hvac turns into InvalidPath like any 404.
    try:
        client.secrets.kv.v2.read_secret_version(path="app/retired", mount_point="secret")
        check(False, "reading a deleted version must fail")
    except hvac.exceptions.InvalidPath:
        pass
    top = client.secrets.kv.v2.list_secrets(path="", mount_point="secret")
    check(top["data"]["keys"] == ["app/"], top)

    meta = client.secrets.kv.v2.read_secret_metadata(path="app/db", mount_point="secret")
    check(meta["data"]["current_version"] == 2, meta)
    check(sorted(meta["data"]["versions"].keys()) == ["1", "2"], meta)

    written = client.secrets.kv.v2.create_or_update_secret(
        path="hvac/new", secret={"a": "1"}, mount_point="secret")
    check(written["data"]["version"] == 1, written)
    written = client.secrets.kv.v2.create_or_update_secret(
        path="hvac/new", secret={"a": "2"}, cas=1, mount_point="secret")
    check(written["data"]["version"] == 2, written)
    err = expect_raises(hvac.exceptions.InvalidRequest,
                        client.secrets.kv.v2.create_or_update_secret,
                        path="hvac/new", secret={"a": "3"}, cas=1, mount_point="secret")
    check("check-and-set parameter did not match the current version" in str(err), err)
    patched = client.secrets.kv.v2.patch(path="hvac/new", secret={"b": "x"}, mount_point="secret")
    check(patched["data"]["version"] == 3, patched)
    now = client.secrets.kv.v2.read_secret_version(path="hvac/new", mount_point="secret")
    check(now["data"]["data"] == {"a": "2", "b": "x"}, now)

    client.secrets.kv.v2.delete_latest_version_of_secret(path="hvac/new", mount_point="secret")
    expect_raises(hvac.exceptions.InvalidPath, client.secrets.kv.v2.read_secret_version,
                  path="hvac/new", mount_point="secret")
    client.secrets.kv.v2.undelete_secret_versions(path="hvac/new", versions=[3], mount_point="secret")
    client.secrets.kv.v2.read_secret_version(path="hvac/new", mount_point="secret")
    client.secrets.kv.v2.destroy_secret_versions(path="hvac/new", versions=[3], mount_point="secret")
    expect_raises(hvac.exceptions.InvalidPath, client.secrets.kv.v2.read_secret_version,
                  path="hvac/new", mount_point="secret")
    expect_raises(hvac.exceptions.InvalidPath, client.secrets.kv.v2.read_secret_version,
                  path="does/not/exist", mount_point="secret")
    expect_raises(hvac.exceptions.InvalidPath, client.secrets.kv.v2.list_secrets,
                  path="nothing-here", mount_point="secret")

    # Multi-segment mount.
    stripe = client.secrets.kv.v2.read_secret_version(path="billing/stripe", mount_point="team/kv")
    check(stripe["data"]["data"]["secret_key"] == "sk_test_demo", stripe)

    # strict_http lists with GET ?list=true instead of the LIST verb.
    strict = hvac.Client(url=url, token="root", strict_http=True)
    listed = strict.secrets.kv.v2.list_secrets(path="app", mount_point="secret")
    check(listed["data"]["keys"] == ["api", "config", "db", "retired"], listed)
    # A soft-deleted current version: Vault answers 404 with an envelope and no `errors`, which
    # hvac turns into InvalidPath like any 404.
    try:
        client.secrets.kv.v2.read_secret_version(path="app/retired", mount_point="secret")
        check(False, "reading a deleted version must fail")
    except hvac.exceptions.InvalidPath:
        pass


def test_kv1(url):
    client = hvac.Client(url=url, token="root")
    smtp = client.secrets.kv.v1.read_secret(path="legacy/smtp", mount_point="kv1")
    check(smtp["data"] == {"user": "mailer", "password": "smtp-pass"}, smtp)
    check(smtp["lease_duration"] == 2764800, smtp)
    client.secrets.kv.v1.create_or_update_secret(path="legacy/new", secret={"k": "v"},
                                                 mount_point="kv1")
    listed = client.secrets.kv.v1.list_secrets(path="legacy", mount_point="kv1")
    check(listed["data"]["keys"] == ["new", "smtp"], listed)
    expect_raises(hvac.exceptions.InvalidPath, client.secrets.kv.v1.read_secret,
                  path="legacy/none", mount_point="kv1")


def test_tokens(url):
    client = hvac.Client(url=url, token="hvs.demo-app-token")
    me = client.auth.token.lookup_self()
    check(me["data"]["id"] == "hvs.demo-app-token", me)
    check(me["data"]["policies"] == ["app-read", "default"], me)
    check(0 < me["data"]["ttl"] <= 3600, me)
    renewed = client.auth.token.renew_self(increment="30m")
    check(renewed["auth"]["client_token"] == "hvs.demo-app-token", renewed)
    check(renewed["auth"]["lease_duration"] == 1800, renewed)
    # The app policy reads app secrets but nothing else.
    client.secrets.kv.v2.read_secret_version(path="app/api", mount_point="secret")
    err = expect_raises(hvac.exceptions.Forbidden, client.secrets.kv.v2.read_secret_version,
                        path="other", mount_point="secret")
    check("permission denied" in str(err), err)
    bad = hvac.Client(url=url, token="hvs.nope")
    check(not bad.is_authenticated(), "unknown token is not authenticated")
    err = expect_raises(hvac.exceptions.Forbidden, bad.auth.token.lookup_self)
    check("invalid token" in str(err), err)


def test_kubernetes_login(url, binary):
    jwt = subprocess.run(
        [binary, "--mint-jwt", "--key", K8S_KEY, "--namespace", "default",
         "--service-account", "app", "--audience", "vault"],
        check=True, capture_output=True, text=True).stdout.strip()
    client = hvac.Client(url=url)
    resp = client.auth.kubernetes.login(role="app", jwt=jwt)
    check(resp["auth"]["metadata"]["service_account_name"] == "app", resp)
    check(resp["auth"]["lease_duration"] == 3600, resp)
    check(client.is_authenticated(), "token from kubernetes login works")
    secret = client.secrets.kv.v2.read_secret_version(path="app/db", mount_point="secret")
    check(secret["data"]["data"]["username"] == "app", secret)

    # A JWT minted here in Python, for a globbed namespace.
    now = int(time.time())
    py_jwt = mint_hs256(K8S_KEY, {
        "iss": "https://kubernetes.default.svc.cluster.local",
        "sub": "system:serviceaccount:apps-prod:app", "aud": ["vault"],
        "iat": now, "nbf": now, "exp": now + 600,
        "kubernetes.io": {"namespace": "apps-prod",
                          "serviceaccount": {"name": "app", "uid": "u-1"}}})
    hvac.Client(url=url).auth.kubernetes.login(role="app", jwt=py_jwt)

    err = expect_raises(hvac.exceptions.InvalidRequest, hvac.Client(url=url).auth.kubernetes.login,
                        role="nope", jwt=jwt)
    check('invalid role name "nope"' in str(err), err)
    wrong = mint_hs256("wrong-key", {"sub": "system:serviceaccount:default:app", "aud": ["vault"],
                                     "exp": now + 600,
                                     "kubernetes.io": {"namespace": "default",
                                                       "serviceaccount": {"name": "app"}}})
    expect_raises(hvac.exceptions.Forbidden, hvac.Client(url=url).auth.kubernetes.login,
                  role="app", jwt=wrong)


def test_approle_and_jwt_login(url):
    client = hvac.Client(url=url)
    resp = client.auth.approle.login(role_id="demo-role-id", secret_id="demo-secret-id")
    check(resp["auth"]["metadata"] == {"role_name": "ci"}, resp)
    check(client.is_authenticated(), "approle token works")
    err = expect_raises(hvac.exceptions.InvalidRequest, hvac.Client(url=url).auth.approle.login,
                        role_id="demo-role-id", secret_id="wrong")
    check("invalid role or secret ID" in str(err), err)

    now = int(time.time())
    jwt = mint_hs256(JWT_KEY, {"sub": "ci-runner", "aud": "vault", "exp": now + 600})
    client = hvac.Client(url=url)
    resp = client.auth.jwt.jwt_login(role="ci", jwt=jwt)
    check(resp["auth"]["metadata"] == {"role": "ci"}, resp)
    check(client.is_authenticated(), "jwt token works")


def test_sys(url):
    client = hvac.Client(url=url, token="root")
    health = client.sys.read_health_status(method="GET")
    check(health["initialized"] is True and health["sealed"] is False, health)
    head = client.sys.read_health_status()  # HEAD
    check(head.status_code == 200, head)
    check(client.sys.is_initialized(), "initialized")
    check(not client.sys.is_sealed(), "unsealed")
    mounts = client.sys.list_mounted_secrets_engines()
    check(mounts["data"]["secret/"]["options"]["version"] == "2", mounts)
    check(mounts["data"]["kv1/"]["options"]["version"] == "1", mounts)
    check("team/kv/" in mounts, mounts)
    client.sys.enable_secrets_engine("kv", path="hvac-kv", options={"version": "2"})
    client.secrets.kv.v2.create_or_update_secret(path="x", secret={"a": "b"}, mount_point="hvac-kv")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = sys.argv[1]
    runner = Runner(binary)
    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, "port")
        proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--seed", SEED, "--port-file", port_file],
            stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().strip()
            check(line.startswith("vault-double listening on http://127.0.0.1:"), line)
            with open(port_file) as f:
                port = int(f.read().strip())
            url = "http://127.0.0.1:%d" % port
            check(line.endswith(":%d" % port), line)
            runner.run("kv2", test_kv2, url)
            runner.run("kv1", test_kv1, url)
            runner.run("tokens", test_tokens, url)
            runner.run("kubernetes_login", test_kubernetes_login, url, binary)
            runner.run("approle_and_jwt_login", test_approle_and_jwt_login, url)
            runner.run("sys", test_sys, url)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = "timeout"
        if code == 0:
            runner.passed += 1
            print("PASS clean_sigterm_exit")
        else:
            runner.failed += 1
            print("FAIL clean_sigterm_exit: exit", code)
    print("%d passed, %d failed" % (runner.passed, runner.failed))
    return 0 if runner.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
