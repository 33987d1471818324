# Fuzz targets of pkg/kube's parsers of outside input: kubeconfig files and watch streams.
secretsync_add_fuzz(kubeconfig_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/kubeconfig_fuzz_test.cc
  LIBS kube_config_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/kubeconfig)
secretsync_add_fuzz(watch_decoder_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/watch_decoder_fuzz_test.cc
  LIBS kube_watch_decoder_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/watch_stream)
secretsync_add_fuzz(kube_object_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/kube_object_fuzz_test.cc
  LIBS kube_api_lib kube_events_lib secret_writer_lib store_status_lib api_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/kube_object)
