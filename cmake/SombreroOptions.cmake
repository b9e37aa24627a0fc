# Build options and warning flags shared by every sombrero target.
include(CheckLanguage)

set(SOMBRERO_CUDA "AUTO" CACHE STRING "Build the CUDA backend: AUTO (when nvcc is found), ON, OFF")
set_property(CACHE SOMBRERO_CUDA PROPERTY STRINGS AUTO ON OFF)
set(SOMBRERO_MPI "AUTO" CACHE STRING "Build MPI support: AUTO (when found), ON, OFF")
set_property(CACHE SOMBRERO_MPI PROPERTY STRINGS AUTO ON OFF)
option(SOMBRERO_WERROR "Treat compiler warnings as errors" OFF)
set(SOMBRERO_SANITIZE "" CACHE STRING
    "Host sanitizers for a CPU-only build, e.g. address,undefined (tools/sanitize.sh)")

set(SOMBRERO_HAVE_CUDA OFF)
if(NOT SOMBRERO_CUDA STREQUAL "OFF")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    # CMake < 3.26 does not know nvcc's C++20 flag (nvcc >= 12 supports -std=c++20).
    if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(SOMBRERO_HAVE_CUDA ON)
  elseif(SOMBRERO_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SOMBRERO_CUDA=ON but no CUDA compiler (nvcc) was found. "
                        "Put nvcc on PATH or set CMAKE_CUDA_COMPILER.")
  else()
    message(STATUS "sombrero: no nvcc found; building the CPU backend and the SIMT build only")
  endif()
endif()

# Sanitizers instrument the host code: the CPU backend, and the CUDA kernels as the SIMT build
# runs them, so an out-of-bounds global or shared-memory access in a kernel is reported on the
# CPU, where no compute-sanitizer exists. nvcc-built code is not instrumented: CPU-only builds.
if(SOMBRERO_SANITIZE)
  if(SOMBRERO_HAVE_CUDA)
    message(FATAL_ERROR "SOMBRERO_SANITIZE=${SOMBRERO_SANITIZE} needs -DSOMBRERO_CUDA=OFF "
                        "(the SIMT build runs the CUDA kernels under the sanitizers)")
  endif()
  # -O1 (after the build type's -O3, so it wins), as the sanitizers' documentation advises,
  # and -g1: line tables, all a report's stack needs. On a 2-core machine (2026-11-27) the
  # build took 431 s against about 1000 s at -O3 -g (the json-heavy sources' debug info and
  # the SIMT kernel sources' inlining), the simt and cpu tests 468 s against 488 s; a planted
  # out-of-bounds read in a kernel is still reported with its line.
  add_compile_options(-fsanitize=${SOMBRERO_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -O1 -g1)
  add_link_options(-fsanitize=${SOMBRERO_SANITIZE})
endif()

# Host-code warnings: -Wall -Wextra everywhere, zero tolerated (SOMBRERO_WERROR in CI).
set(SOMBRERO_HOST_WARNINGS -Wall -Wextra -Wpedantic -Wno-unknown-pragmas)
if(SOMBRERO_WERROR)
  list(APPEND SOMBRERO_HOST_WARNINGS -Werror)
endif()

function(sombrero_target_defaults target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${SOMBRERO_HOST_WARNINGS}>
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wextra>)
  if(SOMBRERO_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings>)
  endif()
endfunction()
