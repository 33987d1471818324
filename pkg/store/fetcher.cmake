# fetcher_lib: single-flight reads and the short TTL cache in front of StoreClients.
add_library(fetcher_lib ${CMAKE_CURRENT_LIST_DIR}/fetcher.cc)
target_link_libraries(fetcher_lib PUBLIC store_interface common_lib absl::status absl::statusor
  absl::strings Threads::Threads)

# read_set_lib: one read per secret per reconcile or mount, through the Fetcher.
add_library(read_set_lib ${CMAKE_CURRENT_LIST_DIR}/read_set.cc)
target_link_libraries(read_set_lib PUBLIC fetcher_lib PRIVATE json_wipe_lib)
