#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace secretsync::common {

// Debian 12's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW 0),
// to which std::string_view does not convert; absl::StrCat, StrSplit, SimpleAtoi and Status
// constructors want that type. One spelling of the conversion for the whole tree.
inline absl::string_view av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace secretsync::common
