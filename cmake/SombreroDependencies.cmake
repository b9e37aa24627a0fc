# Finds every third-party library sombrero uses (the list in docs/ and ../shared/DESIGN.md).
# Each vendor API is used from one place in the code; this file only locates them.

find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.9 REQUIRED)
find_package(PNG REQUIRED)
find_package(ZLIB REQUIRED)  # gzipped idx files (datasets/idx_dataset.cpp)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Threads REQUIRED)

# OpenBLAS through CMake's BLAS module, plus the cblas.h header it does not locate.
set(BLA_VENDOR OpenBLAS)
find_package(BLAS REQUIRED)
find_path(SOMBRERO_CBLAS_INCLUDE_DIR cblas.h
  PATH_SUFFIXES openblas x86_64-linux-gnu x86_64-linux-gnu/openblas-pthread
  REQUIRED)

# libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0-dev), for encoding.
find_path(SOMBRERO_TURBOJPEG_INCLUDE_DIR turbojpeg.h REQUIRED)
find_library(SOMBRERO_TURBOJPEG_LIBRARY NAMES turbojpeg libturbojpeg.so.0 REQUIRED)
add_library(sombrero::turbojpeg UNKNOWN IMPORTED)
set_target_properties(sombrero::turbojpeg PROPERTIES
  IMPORTED_LOCATION "${SOMBRERO_TURBOJPEG_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${SOMBRERO_TURBOJPEG_INCLUDE_DIR}")

# libjpeg-turbo's libjpeg API (Debian: libjpeg62-turbo-dev), for decoding: only it can decode
# a region (jpeg_crop_scanline, jpeg_skip_scanlines). jpeglib.h includes jconfig.h, which
# Debian keeps in the multiarch folder: found separately, so that packages unpacked under a
# prefix (tools/gpu_check.sh) work as well as installed ones.
find_path(SOMBRERO_JPEGLIB_INCLUDE_DIR jpeglib.h REQUIRED)
find_path(SOMBRERO_JCONFIG_INCLUDE_DIR jconfig.h
  PATH_SUFFIXES ${CMAKE_LIBRARY_ARCHITECTURE} REQUIRED)
find_library(SOMBRERO_JPEG_LIBRARY NAMES jpeg libjpeg.so.62 REQUIRED)
add_library(sombrero::jpeg UNKNOWN IMPORTED)
set_target_properties(sombrero::jpeg PROPERTIES
  IMPORTED_LOCATION "${SOMBRERO_JPEG_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${SOMBRERO_JPEGLIB_INCLUDE_DIR};${SOMBRERO_JCONFIG_INCLUDE_DIR}")

find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)

# MPI is optional: without it, single-process and environment-rendezvous launches still work.
set(SOMBRERO_HAVE_MPI OFF)
if(NOT SOMBRERO_MPI STREQUAL "OFF")
  if(SOMBRERO_MPI STREQUAL "ON")
    find_package(MPI REQUIRED COMPONENTS CXX)
  else()
    find_package(MPI QUIET COMPONENTS CXX)
  endif()
  if(MPI_CXX_FOUND)
    set(SOMBRERO_HAVE_MPI ON)
  endif()
endif()

# CUDA libraries: cuBLAS and NVTX from the toolkit; cuDNN and NCCL from the system,
# the toolkit, or -DCUDNN_ROOT= / -DNCCL_ROOT= (the pip nvidia/cudnn, nvidia/nccl layout too).
set(SOMBRERO_HAVE_CUDNN OFF)
set(SOMBRERO_HAVE_NCCL OFF)
if(SOMBRERO_HAVE_CUDA)
  find_package(CUDAToolkit REQUIRED)
  find_package(CUDNN)
  find_package(NCCL)
  set(SOMBRERO_HAVE_CUDNN ${CUDNN_FOUND})
  set(SOMBRERO_HAVE_NCCL ${NCCL_FOUND})
  if(NOT CUDNN_FOUND)
    message(WARNING "cuDNN not found: `conv.algo: cudnn` and the cuDNN benchmarks are disabled. "
                    "Pass -DCUDNN_ROOT=<dir> to use one.")
  endif()
  if(NOT NCCL_FOUND)
    message(WARNING "NCCL not found: multi-GPU training is disabled. Pass -DNCCL_ROOT=<dir>.")
  endif()
endif()
