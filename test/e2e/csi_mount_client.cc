// csi-mount-client: sends Mount requests to a CSI provider socket, as the Secrets Store CSI
// Driver does, for end-to-end tests written in Python (Debian has no python3-grpcio installed by
// default). One request per input line, one reply per output line, both JSON:
//
//   in:  {"attributes": "<the attributes JSON string>", "secrets": "{}", "permission": "420",
//         "target_path": "/..."}
//   out: {"grpc_code": 0, "grpc_message": "", "error_code": "", "files": [{"path": "...",
//         "mode": 384, "contents_base64": "..."}], "versions": [{"id": "...", "version": "..."}]}
//
// Usage: csi-mount-client SOCKET < requests.jsonl > replies.jsonl

#include <iostream>
#include <string>

#include "absl/strings/escaping.h"
#include "nlohmann/json.hpp"
#include "test/csi/csi_test_util.h"

namespace {

using secretsync::csi::testing::MountResult;
using secretsync::csi::testing::ProviderClient;

// @return the request of one input line, or an error text naming the field.
bool parseRequest(const std::string& line, v1alpha1::MountRequest* request, std::string* error) {
  const nlohmann::json in = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object()) {
    *error = "input line is not a JSON object";
    return false;
  }
  for (const char* field : {"attributes", "secrets", "permission", "target_path"}) {
    if (!in.contains(field) || !in[field].is_string()) {
      *error = std::string("input field \"") + field + "\" is missing or not a string";
      return false;
    }
  }
  request->set_attributes(in["attributes"].get<std::string>());
  request->set_secrets(in["secrets"].get<std::string>());
  request->set_permission(in["permission"].get<std::string>());
  request->set_target_path(in["target_path"].get<std::string>());
  return true;
}

nlohmann::json replyOf(const MountResult& result) {
  nlohmann::json out = {{"grpc_code", static_cast<int>(result.status.error_code())},
                        {"grpc_message", result.status.error_message()},
                        {"error_code", result.response.error().code()},
                        {"files", nlohmann::json::array()},
                        {"versions", nlohmann::json::array()}};
  for (const auto& file : result.response.files()) {
    out["files"].push_back({{"path", file.path()},
                            {"mode", file.mode()},
                            {"contents_base64", absl::Base64Escape(file.contents())}});
  }
  for (const auto& version : result.response.object_version()) {
    out["versions"].push_back({{"id", version.id()}, {"version", version.version()}});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: csi-mount-client SOCKET < requests.jsonl\n";
    return 2;
  }
  ProviderClient client(argv[1]);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) {
      continue;
    }
    v1alpha1::MountRequest request;
    std::string error;
    if (!parseRequest(line, &request, &error)) {
      std::cerr << "csi-mount-client: " << error << "\n";
      return 2;
    }
    // error_handler replace: a provider message with odd bytes must still reach the test.
    std::cout << replyOf(client.mount(request))
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << std::endl;
  }
  return 0;
}
