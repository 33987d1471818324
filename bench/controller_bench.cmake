# The controller with N ExternalSecrets against both doubles (README "Benchmarks").
add_executable(controller_bench ${CMAKE_CURRENT_LIST_DIR}/controller_bench.cc)
target_link_libraries(controller_bench PRIVATE controller_lib kube_rest_lib kube_double_lib
  vault_double_lib flags_lib)
