#!/usr/bin/env python3
"""Checks of manifests/, grafana/ and the Dockerfile, with real parsers and kubectl's kustomize.

- every YAML file parses; `kubectl kustomize` builds manifests/ and manifests/monitoring;
- built-in objects (Deployment, DaemonSet, RBAC, ...) are checked against the Kubernetes API
  models of Debian's python3-kubernetes: unknown fields and missing required fields fail;
- our CRDs: versions, status subresource, structural schemas; every ESO manifest of the Vault
  subset we know of (manifests/examples, the README, the fuzz corpus) validates against them with
  the API server's rules (unknown fields rejected unless x-kubernetes-preserve-unknown-fields), and
  broken ones do not;
- least privilege: no wildcards, and every role grants exactly the verbs the code calls
  (RBAC_USES, each backed by the call in the source), the pods' security settings;
- manifests/monitoring/prometheusrule.yaml holds exactly grafana/alerts.yaml's groups
  (--write-prometheusrule rewrites it);
- the dashboard: importable JSON, the datasource a variable, every metric it or the alerts name
  is declared in pkg/metrics or exported by a command;
- every COPY source of the Dockerfile exists.

Usage: manifests_test.py REPO_ROOT [--write-prometheusrule]
"""

import copy
import json
import os
import re
import subprocess
import sys
import unittest

import yaml

ROOT = None


# What the code asks of the API server, per role: (apiGroup, resource) -> verb -> (file, regex
# of the call that needs it). The manifests must grant exactly this. When a test below fails, the
# code changed what it calls: update manifests/rbac, this table and docs/security.md together.
RBAC_USES = {
    ("ClusterRole", "secretsync-controller"): {
        ("external-secrets.io", "externalsecrets"): {
            "list": ("pkg/sync/controller.cc", r"informer\(kube::resources::externalSecrets\(\)"),
            "watch": ("pkg/sync/controller.cc",
                      r"informer\(kube::resources::externalSecrets\(\)")},
        ("external-secrets.io", "secretstores"): {
            "list": ("pkg/sync/controller.cc", r"informer\(kube::resources::secretStores\(\)"),
            "watch": ("pkg/sync/controller.cc", r"informer\(kube::resources::secretStores\(\)")},
        ("external-secrets.io", "clustersecretstores"): {
            "list": ("pkg/sync/controller.cc",
                     r"informer\(kube::resources::clusterSecretStores\(\)"),
            "watch": ("pkg/sync/controller.cc",
                      r"informer\(kube::resources::clusterSecretStores\(\)")},
        ("external-secrets.io", "externalsecrets/status"): {
            "patch": ("pkg/sync/external_secret_reconciler.cc",
                      r"client->patch\(\s*kube::resources::externalSecrets\((.|\n)*?"
                      r"\.subresource = \"status\"")},
        ("external-secrets.io", "secretstores/status"): {
            "patch": ("pkg/sync/store_status_reconciler.cc",
                      r"client->patch\(\s*cluster \? kube::resources::clusterSecretStores\("
                      r"version\)\s*: kube::resources::secretStores\(version\)(.|\n)*?"
                      r"\.subresource = \"status\"")},
        ("external-secrets.io", "clustersecretstores/status"): {
            "patch": ("pkg/sync/store_status_reconciler.cc",
                      r"client->patch\(\s*cluster \? kube::resources::clusterSecretStores\(")},
        # Not a call: with OwnerReferencesPermissionEnforcement, setting blockOwnerDeletion on an
        # ownerReference needs update on the owner's finalizers.
        ("external-secrets.io", "externalsecrets/finalizers"): {
            "update": ("pkg/sync/secret_writer.cc", r"\{\"blockOwnerDeletion\", true\}")},
        ("", "secrets"): {
            "get": ("pkg/sync/external_secret_reconciler.cc",
                    r"client->get\(kube::resources::secrets\(\)"),
            "list": ("pkg/sync/controller.cc",
                     r"informer\(kube::resources::secrets\(\), ns, absl::StrCat\("
                     r"common::av\(kManagedLabel\), \"=true\"\)"),
            "watch": ("pkg/sync/controller.cc", r"informer\(kube::resources::secrets\(\)"),
            "create": ("pkg/sync/secret_writer.cc", r"client\.create\(secrets,"),
            "update": ("pkg/sync/secret_writer.cc", r"client\.update\(secrets,"),
            "delete": ("pkg/sync/external_secret_reconciler.cc",
                       r"client->remove\(\s*kube::resources::secrets\(\)")},
        ("", "configmaps"): {
            "get": ("pkg/sync/kube_credential_source.cc", r"keyOf\(kube::resources::configMaps\(\)")},
        ("", "serviceaccounts/token"): {
            "create": ("pkg/sync/kube_credential_source.cc", r"client_\.requestToken\(")},
        ("", "namespaces"): {
            "list": ("pkg/sync/controller.cc", r"informer\(kube::resources::namespaces\(\)"),
            "watch": ("pkg/sync/controller.cc", r"informer\(kube::resources::namespaces\(\)")},
        ("", "events"): {
            "create": ("pkg/kube/event_recorder.cc", r"client_\.create\(events_,"),
            "patch": ("pkg/kube/event_recorder.cc", r"client_\.patch\(events_,")},
    },
    ("Role", "secretsync-leader-election"): {
        ("coordination.k8s.io", "leases"): {
            "get": ("pkg/kube/leader_elector.cc", r"client_\.get\(leases_,"),
            "create": ("pkg/kube/leader_elector.cc", r"client_\.create\(leases_,"),
            "update": ("pkg/kube/leader_elector.cc", r"client_\.update\(leases_,")},
    },
    ("ClusterRole", "secretsync-csi-provider"): {
        ("deckhouse.io", "secretsstoreimports"): {
            "get": ("pkg/csi/provider_server.cc",
                    r"kube_client->get\(kube::resources::secretsStoreImports\(\)")},
        ("", "serviceaccounts/token"): {
            "create": ("pkg/csi/provider_server.cc", r"client\.requestToken\(")},
    },
}


def read(*parts):
    with open(os.path.join(*parts)) as handle:
        return handle.read()


def load_all(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def kustomize(directory):
    run = subprocess.run(["kubectl", "kustomize", directory], capture_output=True, text=True,
                         timeout=120)
    if run.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory}: {run.stderr}")
    return [doc for doc in yaml.safe_load_all(run.stdout) if doc is not None]


# --- A validator with the API server's rules for CRD schemas (the subset our CRDs use) ---

def validate(schema, value, path="", errors=None):
    """Returns the list of errors of `value` against the openAPIV3Schema `schema`."""
    if errors is None:
        errors = []
    kind = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            errors.append(f"{path}: must be an integer or a string")
        return errors
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if kind is not None and not checks[kind](value):
        errors.append(f"{path}: must be of type {kind}, got {type(value).__name__}")
        return errors
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: unsupported value {value!r}, want one of {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if kind == "array":
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: needs at least {schema['minItems']} items")
        for index, item in enumerate(value):
            validate(schema.get("items", {}), item, f"{path}[{index}]", errors)
    if kind == "object":
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}.{name}: Required value")
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for name, item in value.items():
            if properties is not None and name in properties:
                validate(properties[name], item, f"{path}.{name}", errors)
            elif isinstance(additional, dict):
                validate(additional, item, f"{path}.{name}", errors)
            elif properties is not None and not schema.get("x-kubernetes-preserve-unknown-fields"):
                # What the API server prunes, and kubectl's strict field validation rejects.
                errors.append(f"{path}.{name}: unknown field")
    return errors


def structural_problems(schema, path="<root>"):
    """Every schema node must have a type unless it preserves unknown fields or is int-or-string
    (the API server's structural-schema rule)."""
    problems = []
    if "type" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields") \
            and not schema.get("x-kubernetes-int-or-string"):
        problems.append(f"{path}: no type")
    for name, sub in schema.get("properties", {}).items():
        problems += structural_problems(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        problems += structural_problems(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        problems += structural_problems(schema["additionalProperties"], f"{path}{{}}")
    return problems


# --- Built-in kinds against python3-kubernetes' API models ---

def model_problems(client, type_name, value, path):
    """Unknown fields and wrong shapes of `value` as the model `type_name` (e.g. V1Deployment)."""
    problems = []
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: must be a list"]
        for index, item in enumerate(value):
            problems += model_problems(client, type_name[5:-1], item, f"{path}[{index}]")
        return problems
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{path}: must be a map"]
        inner = type_name[type_name.index(",") + 1:-1].strip()
        for key, item in value.items():
            problems += model_problems(client, inner, item, f"{path}.{key}")
        return problems
    model = getattr(client, type_name, None)
    if model is None:
        return problems  # str, int, bool, object, datetime: checked by deserialisation
    if not isinstance(value, dict):
        return [f"{path}: must be an object ({type_name})"]
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            problems.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        problems += model_problems(client, model.openapi_types[by_json[key]], item, f"{path}.{key}")
    return problems


BUILTIN_MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "Service"): "V1Service",
    ("v1", "Pod"): "V1Pod",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): "V1CustomResourceDefinition",
}


def builtin_problems(doc):
    import kubernetes.client as client  # Debian's python3-kubernetes
    type_name = BUILTIN_MODELS.get((doc.get("apiVersion"), doc.get("kind")))
    if type_name is None:
        return None
    problems = model_problems(client, type_name, doc, doc["kind"])
    try:
        # Deserialisation runs the models' own required-field checks.
        client.ApiClient()._ApiClient__deserialize(copy.deepcopy(doc), type_name)
    except (ValueError, TypeError) as error:
        problems.append(f"{doc['kind']}: {error}")
    return problems


def readme_yaml_blocks():
    text = read(ROOT, "README.md")
    docs = []
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        docs += [doc for doc in yaml.safe_load_all(block) if doc is not None]
    return docs


def eso_corpus():
    """(where, document) for every ESO manifest we know of."""
    found = []
    sources = [os.path.join(ROOT, "manifests", "examples", name)
               for name in sorted(os.listdir(os.path.join(ROOT, "manifests", "examples")))]
    sources += [os.path.join(ROOT, "test", "fuzz", "corpus", "manifest", name)
                for name in ("external_secret_v1.yaml", "stores.yaml")]
    for path in sources:
        if os.path.exists(path):
            found += [(os.path.relpath(path, ROOT), doc) for doc in load_all(path)]
    found += [("README.md", doc) for doc in readme_yaml_blocks()]
    return [(where, doc) for where, doc in found
            if isinstance(doc, dict) and str(doc.get("apiVersion", "")).split("/")[0]
            in ("external-secrets.io", "deckhouse.io")]


class ManifestsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.core = kustomize(os.path.join(ROOT, "manifests"))
        cls.monitoring = kustomize(os.path.join(ROOT, "manifests", "monitoring"))
        cls.crds = {}
        for doc in cls.core:
            if doc["kind"] == "CustomResourceDefinition":
                cls.crds[(doc["spec"]["group"], doc["spec"]["names"]["kind"])] = doc

    def find(self, kind, name):
        for doc in self.core + self.monitoring:
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
        self.fail(f"no {kind} {name}")

    def test_every_yaml_file_parses(self):
        count = 0
        for top in ("manifests", "grafana"):
            for directory, _, files in os.walk(os.path.join(ROOT, top)):
                for name in files:
                    if name.endswith((".yaml", ".yml")):
                        load_all(os.path.join(directory, name))
                        count += 1
        self.assertGreater(count, 10)

    def test_kustomization_has_every_part(self):
        kinds = sorted({doc["kind"] for doc in self.core})
        self.assertEqual(kinds, sorted({
            "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole",
            "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "DaemonSet", "Service"}))
        self.assertEqual(sorted(doc["kind"] for doc in self.monitoring),
                         ["PrometheusRule", "ServiceMonitor"])
        for doc in self.core + self.monitoring:
            if doc["kind"] not in ("Namespace", "CustomResourceDefinition", "ClusterRole",
                                   "ClusterRoleBinding"):
                self.assertEqual(doc["metadata"].get("namespace"), "secretsync",
                                 f"{doc['kind']} {doc['metadata']['name']}")

    def test_builtin_objects_match_the_api_models(self):
        checked = 0
        docs = self.core + [doc for path in ("secretproviderclass.yaml", "secretsstoreimport.yaml")
                            for doc in load_all(os.path.join(ROOT, "manifests", "examples", path))]
        for doc in docs:
            problems = builtin_problems(doc)
            if problems is None:
                continue
            checked += 1
            self.assertEqual(problems, [], f"{doc['kind']} {doc['metadata']['name']}")
        self.assertGreaterEqual(checked, 15)

    def test_the_model_check_rejects_typos(self):
        deployment = copy.deepcopy(self.find("Deployment", "secretsync-controller"))
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        container["readinessprobe"] = container.pop("readinessProbe")
        del container["name"]
        problems = builtin_problems(deployment)
        self.assertTrue(any("readinessprobe: unknown field" in p for p in problems), problems)
        self.assertTrue(any("name" in p and "None" in p for p in problems), problems)

    def test_crds_serve_the_versions_with_status(self):
        expected = {("external-secrets.io", "ExternalSecret"): ("v1", ["v1", "v1beta1"]),
                    ("external-secrets.io", "SecretStore"): ("v1", ["v1", "v1beta1"]),
                    ("external-secrets.io", "ClusterSecretStore"): ("v1", ["v1", "v1beta1"]),
                    ("deckhouse.io", "SecretsStoreImport"): ("v1alpha1", ["v1alpha1"])}
        self.assertEqual(sorted(self.crds), sorted(expected))
        for key, (storage, served) in expected.items():
            versions = self.crds[key]["spec"]["versions"]
            self.assertEqual([v["name"] for v in versions if v["served"]], served, key)
            self.assertEqual([v["name"] for v in versions if v["storage"]], [storage], key)
            for version in versions:
                self.assertEqual(version["subresources"], {"status": {}}, key)
                schema = version["schema"]["openAPIV3Schema"]
                self.assertEqual(structural_problems(schema), [], key)
                self.assertEqual(schema["properties"]["spec"]["type"], "object")
        self.assertEqual(self.crds[("external-secrets.io", "ClusterSecretStore")]["spec"]["scope"],
                         "Cluster")

    def schema_for(self, doc):
        group, version = doc["apiVersion"].split("/")
        crd = self.crds[(group, doc["kind"])]
        for entry in crd["spec"]["versions"]:
            if entry["name"] == version and entry["served"]:
                return entry["schema"]["openAPIV3Schema"]
        self.fail(f"{doc['apiVersion']} {doc['kind']} is not served")

    def test_eso_manifests_are_accepted(self):
        corpus = eso_corpus()
        kinds = {doc["kind"] for _, doc in corpus}
        self.assertTrue({"ExternalSecret", "SecretStore", "ClusterSecretStore",
                         "SecretsStoreImport"} <= kinds, kinds)
        for where, doc in corpus:
            errors = validate(self.schema_for(doc), doc, doc["kind"])
            self.assertEqual(errors, [], f"{where}: {doc['kind']} {doc['metadata']['name']}")
        print(f"{len(corpus)} ESO/Deckhouse manifests accepted by the CRD schemas")

    def test_broken_manifests_are_rejected(self):
        es = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
              "metadata": {"name": "x"},
              "spec": {"secretStoreRef": {"name": "v", "kind": "SecretStore"},
                       "data": [{"secretKey": "a", "remoteRef": {"key": "app/db"}}]}}
        self.assertEqual(validate(self.schema_for(es), es), [])
        cases = [
            (["spec", "secretStoreRef", "kind"], "Vault", "unsupported value"),
            (["spec", "target"], {"creationPolicy": "Always"}, "unsupported value"),
            (["spec", "refreshInteval"], "1h", "unknown field"),
            (["spec", "data"], [{"secretKey": "a", "remoteRef": {"property": "p"}}],
             "remoteRef.key: Required value"),
            (["spec", "data"], [{"secretKey": "a", "remoteRef": {"key": "k",
                                                                 "decodingStrategy": "Hex"}}],
             "unsupported value"),
        ]
        for path, value, message in cases:
            broken = copy.deepcopy(es)
            node = broken
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            errors = validate(self.schema_for(broken), broken)
            self.assertTrue(any(message in e for e in errors), f"{path}: {errors}")
        store = {"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                 "metadata": {"name": "s"},
                 "spec": {"provider": {"vault": {"path": "secret", "sever": "https://v"}}}}
        errors = validate(self.schema_for(store), store)
        self.assertIn(".spec.provider.vault.server: Required value", errors)
        self.assertIn(".spec.provider.vault.sever: unknown field", errors)
        ssi = {"apiVersion": "deckhouse.io/v1alpha1", "kind": "SecretsStoreImport",
               "metadata": {"name": "s"},
               "spec": {"type": "CSI", "role": "bad role", "files": []}}
        errors = validate(self.schema_for(ssi), ssi)
        self.assertTrue(any("does not match" in e for e in errors), errors)
        self.assertTrue(any("at least 1" in e for e in errors), errors)

    def rbac_rules(self):
        """{(kind, name): rules} of every Role and ClusterRole, after the generic checks."""
        rules_by_role = {}
        for doc in self.core:
            if doc["kind"] in ("ClusterRole", "Role"):
                rules_by_role[(doc["kind"], doc["metadata"]["name"])] = doc["rules"]
                for rule in doc["rules"]:
                    for field in ("verbs", "resources", "apiGroups"):
                        self.assertNotIn("*", rule.get(field, []), doc["metadata"]["name"])
                    self.assertFalse({"escalate", "bind", "impersonate"} & set(rule["verbs"]))
                    self.assertNotIn("nonResourceURLs", rule)
                    self.assertNotIn("resourceNames", rule)
        return rules_by_role

    def test_rbac_is_exactly_what_the_code_uses(self):
        """Every role grants exactly RBAC_USES: no verb more (least privilege), none less (the
        code would fail with 403), and each grant is backed by a call in the source."""
        rules_by_role = self.rbac_rules()
        self.assertEqual(set(rules_by_role), set(RBAC_USES))
        for role, uses in RBAC_USES.items():
            granted = {(group, resource, verb) for rule in rules_by_role[role]
                       for group in rule["apiGroups"] for resource in rule["resources"]
                       for verb in rule["verbs"]}
            wanted = {(group, resource, verb) for (group, resource), verbs in uses.items()
                      for verb in verbs}
            self.assertEqual(granted - wanted, set(), f"{role} grants more than the code uses")
            self.assertEqual(wanted - granted, set(), f"{role} lacks what the code uses")
            for (group, resource), verbs in uses.items():
                for verb, (path, pattern) in verbs.items():
                    # Line breaks are clang-format's, not the call's: matched as single spaces.
                    source = re.sub(r"\(\s+", "(", re.sub(r"\s+", " ", read(ROOT, path)))
                    if not re.search(pattern, source):
                        self.fail(f"{role} {group}/{resource} {verb}: /{pattern}/ not found in "
                                  f"{path}: if the call changed, review the RBAC and RBAC_USES")

    def test_every_resource_the_code_names_is_in_the_rbac_table(self):
        """A new kube::resources::X() call in a component that runs in a cluster must come with
        its RBAC: the names used there and the resources of RBAC_USES must agree."""
        covered = {resource.split("/")[0] for uses in RBAC_USES.values() for _, resource in uses}
        named = {}
        for directory in ("pkg/sync", "pkg/csi", "cmd/secretsync"):
            for name in sorted(os.listdir(os.path.join(ROOT, directory))):
                if name.endswith(".cc"):
                    text = read(ROOT, directory, name)
                    for function in re.findall(r"resources::(\w+)\(", text):
                        named.setdefault(function, f"{directory}/{name}")
        for name in ("event_recorder.cc", "leader_elector.cc", "rest_kube_client.cc"):
            for function in re.findall(r"resources::(\w+)\(", read(ROOT, "pkg/kube", name)):
                named.setdefault(function, f"pkg/kube/{name}")
        self.assertTrue(named)
        for function, where in named.items():
            self.assertIn(function.lower(), covered, f"{where} uses resources::{function}()")

    def test_role_bindings_name_our_service_accounts(self):
        bindings = {(d["kind"], d["metadata"]["name"]): d for d in self.core
                    if d["kind"].endswith("Binding")}
        for kind, name in (("ClusterRoleBinding", "secretsync-controller"),
                           ("RoleBinding", "secretsync-leader-election"),
                           ("ClusterRoleBinding", "secretsync-csi-provider")):
            account = "secretsync-csi-provider" if "csi" in name else "secretsync-controller"
            self.assertEqual(bindings[(kind, name)]["subjects"],
                             [{"kind": "ServiceAccount", "name": account,
                               "namespace": "secretsync"}], name)
        self.assertEqual(bindings[("RoleBinding", "secretsync-leader-election")]["metadata"]
                         ["namespace"], "secretsync", "Leases only in its own namespace")

    def test_controller_deployment(self):
        deployment = self.find("Deployment", "secretsync-controller")
        spec = deployment["spec"]["template"]["spec"]
        self.assertEqual(deployment["spec"]["replicas"], 2)
        self.assertEqual(spec["serviceAccountName"], "secretsync-controller")
        self.assertTrue(spec["securityContext"]["runAsNonRoot"])
        self.assertEqual(spec["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
        (container,) = spec["containers"]
        self.assertEqual(container["args"][0], "controller")
        self.assertIn("--leader-elect", container["args"])
        self.assertIn("--metrics-addr=:8080", container["args"])
        self.assertIn("--health-addr=:8081", container["args"])
        security = container["securityContext"]
        self.assertFalse(security["allowPrivilegeEscalation"])
        self.assertTrue(security["readOnlyRootFilesystem"])
        self.assertEqual(security["capabilities"], {"drop": ["ALL"]})
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(ports, {"metrics": 8080, "health": 8081})
        self.assertEqual(container["livenessProbe"]["httpGet"], {"path": "/healthz",
                                                                 "port": "health"})
        self.assertEqual(container["readinessProbe"]["httpGet"], {"path": "/readyz",
                                                                  "port": "health"})
        self.assertIn("memory", container["resources"]["limits"])
        self.assertIn("cpu", container["resources"]["requests"])
        self.assertRegex(container["image"], r"^[\w./-]+:[\w.-]+$")

    def test_csi_provider_daemonset(self):
        daemonset = self.find("DaemonSet", "secretsync-csi-provider")
        spec = daemonset["spec"]["template"]["spec"]
        self.assertEqual(spec["serviceAccountName"], "secretsync-csi-provider")
        self.assertEqual(spec["tolerations"], [{"operator": "Exists"}])
        (container,) = spec["containers"]
        self.assertEqual(container["args"][0], "csi-provider")
        socket = [a.split("=", 1)[1] for a in container["args"] if a.startswith("--socket=")]
        self.assertEqual(len(socket), 1)
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        host = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
        self.assertEqual(list(host), ["providers"])
        self.assertEqual(os.path.dirname(socket[0]), mounts["providers"])
        self.assertIn(host["providers"], ("/var/run/secrets-store-csi-providers",
                                          "/etc/kubernetes/secrets-store-csi-providers"))
        security = container["securityContext"]
        self.assertFalse(security["allowPrivilegeEscalation"])
        self.assertTrue(security["readOnlyRootFilesystem"])
        self.assertEqual(security["capabilities"], {"drop": ["ALL"]})

    def test_services_and_servicemonitor_meet(self):
        monitor = self.find("ServiceMonitor", "secretsync")
        selector = monitor["spec"]["selector"]["matchLabels"]
        selected = [d for d in self.core if d["kind"] == "Service"
                    and selector.items() <= d["metadata"]["labels"].items()]
        self.assertEqual(sorted(d["metadata"]["name"] for d in selected),
                         ["secretsync-controller-metrics", "secretsync-csi-provider-metrics"])
        port = monitor["spec"]["endpoints"][0]["port"]
        for service in selected:
            self.assertIn(port, [p["name"] for p in service["spec"]["ports"]])
            workload = [d for d in self.core if d["kind"] in ("Deployment", "DaemonSet")
                        and service["spec"]["selector"].items()
                        <= d["spec"]["template"]["metadata"]["labels"].items()]
            self.assertEqual(len(workload), 1, service["metadata"]["name"])

    def test_prometheusrule_matches_grafana_alerts(self):
        alerts = load_all(os.path.join(ROOT, "grafana", "alerts.yaml"))[0]
        rule = self.find("PrometheusRule", "secretsync")
        self.assertEqual(rule["spec"]["groups"], alerts["groups"],
                         "regenerate: manifests_test.py ROOT --write-prometheusrule")

    def test_dashboard(self):
        dashboard = json.loads(read(ROOT, "grafana", "secretsync-dashboard.json"))
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        self.assertNotIn("__inputs", dashboard)
        ids = set()
        exprs = []
        for panel in dashboard["panels"]:
            self.assertNotIn(panel["id"], ids)
            ids.add(panel["id"])
            if panel["type"] == "row":
                continue
            self.assertEqual(panel["datasource"], {"type": "prometheus", "uid": "${datasource}"})
            self.assertTrue(panel["targets"], panel["title"])
            for target in panel["targets"]:
                self.assertEqual(target["datasource"]["uid"], "${datasource}")
                exprs.append(target["expr"])
        self.assertGreaterEqual(len(exprs), 25)

    def test_every_metric_named_is_declared(self):
        declared = read(ROOT, "pkg", "metrics", "metrics.cc")
        declared += read(ROOT, "cmd", "secretsync", "csi_provider_command.cc")
        text = read(ROOT, "grafana", "secretsync-dashboard.json")
        text += read(ROOT, "grafana", "alerts.yaml")
        names = set(re.findall(r"\b((?:secretsync|externalsecret|secretstore|clustersecretstore|"
                               r"workqueue|controller_runtime)_[a-z_]+)", text))
        self.assertGreater(len(names), 15)
        for name in sorted(names):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            self.assertIn(f'"{base}"', declared, f"{name} is not declared")

    def test_dockerfile_copy_sources_exist(self):
        lines = read(ROOT, "Dockerfile").replace("\\\n", " ").splitlines()
        copies = 0
        for line in lines:
            words = line.split()
            if not words or words[0].upper() != "COPY":
                continue
            if any(w.startswith("--from=") for w in words):
                continue
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            for source in sources:
                copies += 1
                self.assertTrue(os.path.exists(os.path.join(ROOT, source)), source)
        self.assertGreater(copies, 3)


def write_prometheusrule():
    alerts = load_all(os.path.join(ROOT, "grafana", "alerts.yaml"))[0]
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "secretsync", "namespace": "secretsync",
                         "labels": {"app.kubernetes.io/name": "secretsync"}},
            "spec": {"groups": alerts["groups"]}}
    def block_strings(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    yaml.SafeDumper.add_representer(str, block_strings)
    path = os.path.join(ROOT, "manifests", "monitoring", "prometheusrule.yaml")
    with open(path, "w") as handle:
        handle.write("# Generated from grafana/alerts.yaml by test/deploy/manifests_test.py "
                     "--write-prometheusrule; edit that file instead.\n")
        yaml.safe_dump(rule, handle, sort_keys=False, width=100)


if __name__ == "__main__":
    ROOT = os.path.abspath(sys.argv[1])
    if "--write-prometheusrule" in sys.argv:
        write_prometheusrule()
        sys.exit(0)
    unittest.main(argv=[sys.argv[0], "-v"])
