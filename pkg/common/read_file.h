#pragma once

#include <fstream>
#include <iterator>
#include <optional>
#include <string>

namespace secretsync::common {

// @return the whole content of the file at `path`, or nullopt when it cannot be opened or read.
// For small files named by flags and tests (certificates, seeds, tokens, corpora); callers that
// must notice a file changing (JwtSource) or bound its size (the HTTP client's CA files) do their
// own reading.
inline std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    return std::nullopt;
  }
  return content;
}

}  // namespace secretsync::common
