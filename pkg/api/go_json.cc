#include "pkg/api/go_json.h"

#include <string_view>

#include "pkg/common/utf8.h"

namespace secretsync::api {
namespace {

using json = nlohmann::json;

void quote(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t len = common::validUtf8Length(s, i);
      if (len == 0) {
        out += "\\ufffd";
        ++i;
        continue;
      }
      const std::string_view seq = s.substr(i, len);
      if (seq == "\xE2\x80\xA8" || seq == "\xE2\x80\xA9") {
        out += seq == "\xE2\x80\xA8" ? "\\u2028" : "\\u2029";
      } else {
        out.append(seq);
      }
      i += len;
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void marshal(const json& v, std::string& out) {
  switch (v.type()) {
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : v.items()) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        quote(key, out);
        out.push_back(':');
        marshal(value, out);
      }
      out.push_back('}');
      return;
    }
    case json::value_t::array: {
      out.push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) {
          out.push_back(',');
        }
        marshal(v[i], out);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::string:
      quote(v.get_ref<const std::string&>(), out);
      return;
    default:
      out += v.dump();  // numbers, booleans, null
  }
}

}  // namespace

std::string goJsonMarshal(const nlohmann::json& value) {
  std::string out;
  marshal(value, out);
  return out;
}

}  // namespace secretsync::api
