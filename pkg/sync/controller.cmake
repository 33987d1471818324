# kube_credentials_lib: store credentials from the Kubernetes API (Secrets, ConfigMaps,
# TokenRequest).
add_library(kube_credentials_lib ${CMAKE_CURRENT_LIST_DIR}/kube_credential_source.cc)
target_link_libraries(kube_credentials_lib PUBLIC
  store_resolver_lib kube_api_lib common_lib absl::strings)

# cluster_store_source_lib: ExternalSecret store references resolved against informer caches.
add_library(cluster_store_source_lib ${CMAKE_CURRENT_LIST_DIR}/cluster_store_source.cc)
target_link_libraries(cluster_store_source_lib PUBLIC
  store_resolver_lib kube_informer_lib api_lib)

# secret_writer_lib: the Kubernetes Secret sink (creation policies, compare-before-write).
add_library(secret_writer_lib ${CMAKE_CURRENT_LIST_DIR}/secret_writer.cc)
target_link_libraries(secret_writer_lib PUBLIC
  secret_data_lib kube_api_lib digest_lib absl::strings)

# es_reconciler_lib: one ExternalSecret reconciled into its Secret and status.
add_library(es_reconciler_lib ${CMAKE_CURRENT_LIST_DIR}/external_secret_reconciler.cc)
target_link_libraries(es_reconciler_lib PUBLIC
  secret_writer_lib cluster_store_source_lib metrics_lib work_queue_lib kube_informer_lib
  digest_lib absl::time)

# store_status_lib: SecretStore / ClusterSecretStore Ready conditions from a validation call.
add_library(store_status_lib ${CMAKE_CURRENT_LIST_DIR}/store_status_reconciler.cc)
target_link_libraries(store_status_lib PUBLIC es_reconciler_lib store_resolver_lib absl::strings)

# controller_lib: informers, work queue and workers of `secretsync controller`.
add_library(controller_lib ${CMAKE_CURRENT_LIST_DIR}/controller.cc)
target_link_libraries(controller_lib PUBLIC
  store_status_lib es_reconciler_lib kube_credentials_lib cluster_store_source_lib
  secret_data_lib store_resolver_lib work_queue_lib kube_informer_lib fetcher_lib absl::strings)
