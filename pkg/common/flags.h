#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace secretsync::common {

// Declares what a subcommand accepts, for parsing and for its --help text.
struct FlagSpec {
  std::string name;  // without dashes: "output-dir"
  std::string help;
  // A boolean flag takes no value ("--once"); any other takes one ("--x v" or "--x=v").
  bool boolean = false;
  // May be given more than once ("-f a -f b"); values accumulate in order.
  bool repeated = false;
  // One-letter alias without the dash ("f"), or empty.
  std::string short_name;
};

// The outcome of parsing: flag values by name, and positional arguments.
struct ParsedFlags {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positional;

  bool has(std::string_view name) const;
  // @return the last value given for `name`, or `fallback`.
  std::string get(std::string_view name, std::string_view fallback = "") const;
  // @return every value given for `name`, in order.
  std::vector<std::string> all(std::string_view name) const;
};

// Parses `args` (argv without the program and subcommand names) against `specs`.
// "--" ends the flags. @return kInvalidArgument naming the flag for an unknown flag, a missing
// value, a value given to a boolean flag, or a non-repeated flag given twice.
absl::StatusOr<ParsedFlags> parseFlags(const std::vector<std::string>& args,
                                       const std::vector<FlagSpec>& specs);

// Renders specs as aligned "  --name VALUE   help" lines for --help.
std::string flagsHelp(const std::vector<FlagSpec>& specs);

}  // namespace secretsync::common
