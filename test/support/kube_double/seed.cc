#include "test/support/kube_double/seed.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "pkg/common/absl_view.h"
#include "pkg/common/yaml_json.h"

namespace secretsync::test::kube {

namespace {

void flatten(const nlohmann::json& doc, std::vector<nlohmann::json>* out) {
  if (doc.is_array()) {
    for (const auto& item : doc) {
      flatten(item, out);
    }
  } else if (doc.is_object() && doc.contains("items") && doc["items"].is_array() &&
             doc.value("kind", "").ends_with("List")) {
    flatten(doc["items"], out);
  } else if (!doc.is_null()) {
    out->push_back(doc);
  }
}

}  // namespace

absl::StatusOr<std::vector<nlohmann::json>> parseSeed(const std::string& text) {
  std::vector<nlohmann::json> out;
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_discarded()) {
    flatten(doc, &out);
  } else {
    auto docs = common::yamlToJson(text);
    if (!docs.ok()) {
      return docs.status();
    }
    for (const auto& d : *docs) {
      flatten(d, &out);
    }
  }
  for (const auto& o : out) {
    if (!o.is_object()) {
      return absl::InvalidArgumentError("seed: every item must be an object");
    }
  }
  return out;
}

absl::Status applySeed(KubeDouble& kube, const std::vector<nlohmann::json>& objects) {
  for (const auto& object : objects) {
    const nlohmann::json meta = object.value("metadata", nlohmann::json::object());
    std::string name = meta.is_object() ? meta.value("name", "") : "";
    std::string what = absl::StrCat(object.value("kind", "?"), " ", name);
    if (object.value("kind", "") == "Namespace" && object.value("apiVersion", "") == "v1") {
      std::map<std::string, std::string> labels;
      if (meta.contains("labels") && meta["labels"].is_object()) {
        for (const auto& [k, v] : meta["labels"].items()) {
          if (v.is_string()) {
            labels[k] = v.get<std::string>();
          }
        }
      }
      absl::Status s = kube.createNamespace(name, labels);
      if (!s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("seed: ", what, ": ", s.message()));
      }
      continue;
    }
    std::string ns = meta.is_object() ? meta.value("namespace", "") : "";
    if (!ns.empty() && !kube.getObject("v1", "Namespace", "", ns).has_value()) {
      absl::Status s = kube.createNamespace(ns);
      if (!s.ok()) {
        return s;
      }
    }
    auto stored = kube.putObject(object);
    if (!stored.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("seed: ", what, ": ", stored.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace secretsync::test::kube
