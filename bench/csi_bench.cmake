# The CSI provider under 1,000 concurrent Mounts, against the Vault double (README "Benchmarks").
add_executable(csi_mount_bench ${CMAKE_CURRENT_LIST_DIR}/csi_mount_bench.cc)
target_link_libraries(csi_mount_bench PRIVATE csi_provider_lib vault_double_lib flags_lib)
