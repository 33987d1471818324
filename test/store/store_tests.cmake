# Unit tests of pkg/store: the Fetcher (single-flight and TTL cache).
secretsync_add_test(store_fetcher_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fetcher_test.cc LIBS fetcher_lib test_support_lib)

# The ReadSet: one read per secret per reconcile or mount.
secretsync_add_test(store_read_set_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/read_set_test.cc LIBS read_set_lib test_support_lib)
