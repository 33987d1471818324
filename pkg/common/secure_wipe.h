#pragma once

#include <cstddef>
#include <string>

#include <string.h>

namespace secretsync::common {

// Overwrites `size` bytes at `data` with zeros in a way the compiler may not drop as a dead store
// (explicit_bzero): memory about to be freed or reused must not keep a secret for whoever gets it
// next, or for a core file or swap.
inline void secureWipe(void* data, size_t size) {
  if (size > 0) {
    ::explicit_bzero(data, size);
  }
}

// Zeroes the whole buffer of `value` — its capacity, not only its size, since a string that
// shrank still holds the old tail — and leaves it empty. The buffer stays allocated (capacity is
// kept), so the caller may reuse it or let it be freed already clean.
inline void wipeString(std::string& value) {
  // Growing to the capacity never reallocates, and makes every byte of the buffer one we may
  // legally write.
  value.resize(value.capacity());
  secureWipe(value.data(), value.size());
  value.clear();
}

}  // namespace secretsync::common
