# Fuzz target of the CSI provider's MountRequest parser.
secretsync_add_fuzz(mount_attributes_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/mount_attributes_fuzz_test.cc
  LIBS csi_attributes_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/mount_attributes)

# Fuzz target of the SecretsStoreImport compiler (Deckhouse's dialect).
secretsync_add_fuzz(secrets_store_import_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/secrets_store_import_fuzz_test.cc
  LIBS csi_attributes_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/secrets_store_import)
