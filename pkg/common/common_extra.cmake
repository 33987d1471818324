# flags_lib: command-line flag parsing for the subcommands.
add_library(flags_lib flags.cc)
target_link_libraries(flags_lib PUBLIC absl::status absl::statusor absl::strings)
