#include "pkg/common/flags.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace secretsync::common {
namespace {

const FlagSpec* findSpec(const std::vector<FlagSpec>& specs, std::string_view name, bool is_short) {
  for (const FlagSpec& spec : specs) {
    if ((is_short ? spec.short_name : spec.name) == name && !name.empty()) {
      return &spec;
    }
  }
  return nullptr;
}

}  // namespace

bool ParsedFlags::has(std::string_view name) const {
  return values.find(std::string(name)) != values.end();
}

std::string ParsedFlags::get(std::string_view name, std::string_view fallback) const {
  const auto it = values.find(std::string(name));
  if (it == values.end() || it->second.empty()) {
    return std::string(fallback);
  }
  return it->second.back();
}

std::vector<std::string> ParsedFlags::all(std::string_view name) const {
  const auto it = values.find(std::string(name));
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<ParsedFlags> parseFlags(const std::vector<std::string>& args,
                                       const std::vector<FlagSpec>& specs) {
  ParsedFlags parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positional.insert(parsed.positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    const bool is_long = arg.rfind("--", 0) == 0;
    const bool is_short = !is_long && arg.size() > 1 && arg[0] == '-';
    if (!is_long && !is_short) {
      parsed.positional.push_back(arg);
      continue;
    }
    std::string_view body = std::string_view(arg).substr(is_long ? 2 : 1);
    std::optional<std::string> inline_value;
    if (const size_t eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const FlagSpec* spec = findSpec(specs, body, is_short);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag \"", arg, "\""));
    }
    std::string value;
    if (spec->boolean) {
      if (inline_value.has_value() && *inline_value != "true" && *inline_value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", spec->name, " takes no value (or =true/=false)"));
      }
      value = inline_value.value_or("true");
    } else if (inline_value.has_value()) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", spec->name, " needs a value"));
    }
    std::vector<std::string>& slot = parsed.values[spec->name];
    if (!slot.empty() && !spec->repeated) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", spec->name, " given twice"));
    }
    slot.push_back(std::move(value));
  }
  return parsed;
}

std::string flagsHelp(const std::vector<FlagSpec>& specs) {
  std::vector<std::string> heads;
  size_t width = 0;
  for (const FlagSpec& spec : specs) {
    std::string head =
        spec.short_name.empty() ? "      " : absl::StrCat("  -", spec.short_name, ", ");
    absl::StrAppend(&head, "--", spec.name, spec.boolean ? "" : " VALUE");
    width = std::max(width, head.size());
    heads.push_back(std::move(head));
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    absl::StrAppend(&out, heads[i], std::string(width - heads[i].size() + 2, ' '), specs[i].help,
                    "\n");
  }
  return out;
}

}  // namespace secretsync::common
