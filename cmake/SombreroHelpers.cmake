# sombrero_add_simt_library(<target> SOURCES <a.cu> ... [LINK <libs>...])
#   Compiles the given CUDA sources with the host C++ compiler against runtime/simt, which
#   executes each launch on the CPU (blocks in turn, CUDA threads as fibers). For every .cu a
#   one-line wrapper <name>.simt.cpp that #includes it is generated into the build tree, so
#   the same file is built twice: by nvcc into the CUDA library and by g++ into this one.
#   Host launch functions land in namespace ...::simt instead of ...::cuda (SOMBRERO_EXEC).
function(sombrero_add_simt_library target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  set(_wrappers)
  foreach(_src IN LISTS ARG_SOURCES)
    get_filename_component(_abs "${_src}" ABSOLUTE)
    file(RELATIVE_PATH _rel "${PROJECT_SOURCE_DIR}" "${_abs}")
    string(REPLACE "/" "_" _flat "${_rel}")
    set(_wrapper "${CMAKE_CURRENT_BINARY_DIR}/simt/${_flat}.simt.cpp")
    file(GENERATE OUTPUT "${_wrapper}"
      CONTENT "// Generated: ${_rel} compiled for CPU SIMT execution.\n#include \"${_abs}\"\n")
    set_source_files_properties("${_wrapper}" PROPERTIES OBJECT_DEPENDS "${_abs}")
    list(APPEND _wrappers "${_wrapper}")
  endforeach()
  add_library(${target} STATIC ${_wrappers})
  target_compile_definitions(${target} PUBLIC SOMBRERO_SIMT=1)
  target_link_libraries(${target} PUBLIC ${ARG_LINK})
  sombrero_target_defaults(${target})
endfunction()

# sombrero_add_gtest(<name> LABELS <cpu|simt|gpu>... SOURCES <files>... [LINK <libs>...])
#   One GoogleTest executable; each TEST becomes a ctest test carrying the labels.
#   `gpu` tests call GTEST_SKIP() with a message when no CUDA device is present.
function(sombrero_add_gtest name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "LABELS;SOURCES;LINK" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LINK} GTest::gtest GTest::gtest_main)
  sombrero_target_defaults(${name})
  # Several labels become one, joined by '+' ("cpu+simt"): gtest_discover_tests' generated
  # script splits escaped lists again (a test kept only its first label), and ctest -L takes
  # a regular expression, so -L simt and -L cpu both select such a test.
  string(REPLACE ";" "+" _labels "${ARG_LABELS}")
  gtest_discover_tests(${name}
    TEST_PREFIX "${name}."
    PROPERTIES LABELS "${_labels}" TIMEOUT ${ARG_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
  if("gpu" IN_LIST ARG_LABELS)
    set_property(GLOBAL APPEND PROPERTY SOMBRERO_GPU_TESTS ${name})
  endif()
endfunction()
