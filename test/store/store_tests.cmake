# Unit tests of pkg/store: the Fetcher (single-flight and TTL cache).
secretsync_add_test(store_fetcher_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fetcher_test.cc LIBS fetcher_lib test_support_lib)
