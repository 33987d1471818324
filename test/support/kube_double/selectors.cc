#include "test/support/kube_double/selectors.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace secretsync::test::kube {

namespace {

// Splits on commas that are not inside parentheses.
std::vector<std::string> splitTopLevel(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    }
    if (c == ',' && depth == 0) {
      out.push_back(current);
      current.clear();
      continue;
    }
    current.push_back(c);
  }
  out.push_back(current);
  return out;
}

std::string trim(absl::string_view s) { return std::string(absl::StripAsciiWhitespace(s)); }

bool validKey(const std::string& key) {
  if (key.empty() || key.size() > 316) {
    return false;
  }
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

std::string labelValue(const nlohmann::json& labels, const std::string& key, bool* present) {
  *present = false;
  if (!labels.is_object()) {
    return "";
  }
  auto it = labels.find(key);
  if (it == labels.end() || !it->is_string()) {
    return "";
  }
  *present = true;
  return it->get<std::string>();
}

}  // namespace

absl::StatusOr<LabelSelector> LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) {
    return sel;
  }
  for (const std::string& raw : splitTopLevel(text)) {
    std::string part = trim(raw);
    if (part.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("unable to parse requirement: ", text));
    }
    Requirement req;
    size_t pos;
    if (part[0] == '!') {
      req.key = trim(absl::string_view(part).substr(1));
      req.op = Op::kNotExists;
    } else if ((pos = part.find("!=")) != std::string::npos) {
      req.key = trim(absl::string_view(part).substr(0, pos));
      req.op = Op::kNotEquals;
      req.values = {trim(absl::string_view(part).substr(pos + 2))};
    } else if ((pos = part.find("==")) != std::string::npos) {
      req.key = trim(absl::string_view(part).substr(0, pos));
      req.op = Op::kEquals;
      req.values = {trim(absl::string_view(part).substr(pos + 2))};
    } else if ((pos = part.find('=')) != std::string::npos) {
      req.key = trim(absl::string_view(part).substr(0, pos));
      req.op = Op::kEquals;
      req.values = {trim(absl::string_view(part).substr(pos + 1))};
    } else if ((pos = part.find(" notin ")) != std::string::npos ||
               (pos = part.find(" in ")) != std::string::npos) {
      bool notin = part.compare(pos, 7, " notin ") == 0;
      req.key = trim(absl::string_view(part).substr(0, pos));
      req.op = notin ? Op::kNotIn : Op::kIn;
      std::string set = trim(absl::string_view(part).substr(pos + (notin ? 7 : 4)));
      if (set.size() < 2 || set.front() != '(' || set.back() != ')') {
        return absl::InvalidArgumentError(absl::StrCat("unable to parse requirement: ", part));
      }
      for (absl::string_view v : absl::StrSplit(set.substr(1, set.size() - 2), ',')) {
        req.values.push_back(trim(v));
      }
    } else {
      req.key = part;
      req.op = Op::kExists;
    }
    if (!validKey(req.key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to parse requirement: invalid label key \"", req.key, "\""));
    }
    sel.requirements_.push_back(std::move(req));
  }
  return sel;
}

bool LabelSelector::matches(const nlohmann::json& labels) const {
  for (const auto& req : requirements_) {
    bool present = false;
    std::string value = labelValue(labels, req.key, &present);
    bool in_values =
        present && std::find(req.values.begin(), req.values.end(), value) != req.values.end();
    switch (req.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!in_values) {
          return false;
        }
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (in_values) {
          return false;
        }
        break;
      case Op::kExists:
        if (!present) {
          return false;
        }
        break;
      case Op::kNotExists:
        if (present) {
          return false;
        }
        break;
    }
  }
  return true;
}

absl::StatusOr<FieldSelector> FieldSelector::parse(const std::string& text,
                                                   const std::vector<std::string>& allowed) {
  FieldSelector sel;
  if (trim(text).empty()) {
    return sel;
  }
  for (absl::string_view raw : absl::StrSplit(text, ',')) {
    std::string part = trim(raw);
    Requirement req;
    size_t pos;
    if ((pos = part.find("!=")) != std::string::npos) {
      req.equals = false;
      req.field = trim(absl::string_view(part).substr(0, pos));
      req.value = trim(absl::string_view(part).substr(pos + 2));
    } else if ((pos = part.find("==")) != std::string::npos) {
      req.equals = true;
      req.field = trim(absl::string_view(part).substr(0, pos));
      req.value = trim(absl::string_view(part).substr(pos + 2));
    } else if ((pos = part.find('=')) != std::string::npos) {
      req.equals = true;
      req.field = trim(absl::string_view(part).substr(0, pos));
      req.value = trim(absl::string_view(part).substr(pos + 1));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid selector: '", text, "'; can't understand '", part, "'"));
    }
    if (std::find(allowed.begin(), allowed.end(), req.field) == allowed.end()) {
      return absl::InvalidArgumentError(absl::StrCat("field label not supported: ", req.field));
    }
    sel.requirements_.push_back(std::move(req));
  }
  return sel;
}

bool FieldSelector::matches(const nlohmann::json& object) const {
  for (const auto& req : requirements_) {
    std::string value;
    nlohmann::json::json_pointer ptr("/" + absl::StrReplaceAll(req.field, {{".", "/"}}));
    if (object.contains(ptr) && object.at(ptr).is_string()) {
      value = object.at(ptr).get<std::string>();
    }
    if ((value == req.value) != req.equals) {
      return false;
    }
  }
  return true;
}

}  // namespace secretsync::test::kube
