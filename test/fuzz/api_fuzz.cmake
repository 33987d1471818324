# Fuzz targets of pkg/api and the YAML reader: manifests (YAML -> JSON -> ESO resources -> store
# config) and the template engine.
secretsync_add_fuzz(manifest_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/manifest_fuzz_test.cc
  LIBS api_lib yaml_json_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/manifest)

secretsync_add_fuzz(template_fuzz
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/template_fuzz_test.cc
  LIBS api_lib
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/template)
