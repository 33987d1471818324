// Replays inputs through a libFuzzer target in builds without libFuzzer (gcc, ordinary ctest
// runs): every regular file of each directory given on the command line, or each file given
// directly, goes once through LLVMFuzzerTestOneInput. Arguments starting with "-" (libFuzzer
// flags) are ignored, so one ctest command line serves both kinds of build.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "pkg/common/read_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) {
    LLVMFuzzerInitialize(&argc, &argv);
  }
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') {
      continue;
    }
    std::error_code error;
    if (std::filesystem::is_directory(arg, error)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg, error)) {
        if (entry.is_regular_file()) {
          inputs.push_back(entry.path());
        }
      }
    } else if (std::filesystem::is_regular_file(arg, error)) {
      inputs.emplace_back(arg);
    } else {
      std::fprintf(stderr, "fuzz_driver: no such file or directory: %s\n", arg.c_str());
      return 2;
    }
  }
  // Sorted so a failing run names the same input every time.
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) {
    // An empty corpus would pass while testing nothing: treat it as a broken setup.
    std::fprintf(stderr, "fuzz_driver: no inputs\n");
    return 2;
  }
  for (const auto& input : inputs) {
    const std::optional<std::string> data = secretsync::common::readFile(input);
    if (!data.has_value()) {
      std::fprintf(stderr, "fuzz_driver: cannot read %s\n", input.c_str());
      return 2;
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data->data()), data->size());
  }
  std::fprintf(stderr, "fuzz_driver: replayed %zu inputs\n", inputs.size());
  return 0;
}
