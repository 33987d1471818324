#pragma once

#include <memory>

#include <curl/curl.h>

namespace secretsync::common::http {

// Move-only owners of libcurl handles. Each deleter is the one libcurl documents for the handle,
// so a handle is released exactly once on every path, including early error returns. Copying is
// impossible (unique_ptr), unlike holders that copy raw owning pointers and double-free.
//
// Thread-safety: as the underlying handle: one thread at a time.

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct CurlShareDeleter {
  void operator()(CURLSH* share) const { curl_share_cleanup(share); }
};
using CurlSharePtr = std::unique_ptr<CURLSH, CurlShareDeleter>;

struct CurlMultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using CurlMultiPtr = std::unique_ptr<CURLM, CurlMultiDeleter>;

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlDeleter>;

// Memory libcurl allocated and hands to us (curl_url_get results).
struct CurlFreeDeleter {
  void operator()(char* p) const { curl_free(p); }
};
using CurlStringPtr = std::unique_ptr<char, CurlFreeDeleter>;

// Appends `line` to `list`. curl_slist_append returns a new head, or null on allocation failure
// leaving the old list intact, so the owner is only replaced on success.
// @return false on allocation failure.
inline bool appendSlist(CurlSlistPtr& list, const char* line) {
  curl_slist* head = curl_slist_append(list.get(), line);
  if (head == nullptr) {
    return false;
  }
  // The old head is now the second node of `head`'s list: release it without freeing.
  static_cast<void>(list.release());
  list.reset(head);
  return true;
}

}  // namespace secretsync::common::http
