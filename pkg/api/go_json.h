#pragma once

#include <string>

#include "nlohmann/json.hpp"

namespace secretsync::api {

// `value` as Go's encoding/json Marshal writes the result of decoding it into `any` (what ESO and
// sprig's toJson produce): compact; object keys sorted bytewise (nlohmann keeps objects in a
// std::map, the order Go sorts map keys in); strings with HTML escaping on (`<`, `>`, `&` as
// \u003c \u003e \u0026), U+2028/U+2029 escaped, \b \f \n \r \t short, other control bytes
// \u00XX, invalid UTF-8 bytes each as \ufffd; numbers as nlohmann writes them (the same text as
// Go for integers; floats may differ in form, never in value).
std::string goJsonMarshal(const nlohmann::json& value);

}  // namespace secretsync::api
