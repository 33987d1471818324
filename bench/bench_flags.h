#pragma once

#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "pkg/common/flags.h"

namespace secretsync::bench {

// @return the integer value of flag `name`, or `fallback` when absent; exits with status 2 on a
// value that is not a number (benchmarks are run by hand, so failing loudly is the right answer).
inline int intFlag(const common::ParsedFlags& flags, const std::string& name, int fallback) {
  int value = fallback;
  if (flags.has(name) && !absl::SimpleAtoi(flags.get(name), &value)) {
    std::cerr << "--" << name << " must be a number\n";
    std::exit(2);
  }
  return value;
}

}  // namespace secretsync::bench
