#!/usr/bin/env bash
# Builds sombrero and runs every test: cpu, simt, and gpu (which skip, saying why, when no
# CUDA device is present). Compiler warnings are errors here. Extra arguments go to ctest,
# e.g. tools/test.sh -L simt. The CUDA code is built for one architecture (sm_90) unless
# CMAKE_CUDA_ARCHITECTURES is set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build} tools/build.sh \
  -DCMAKE_CUDA_ARCHITECTURES="${CMAKE_CUDA_ARCHITECTURES:-90a}" -DSOMBRERO_WERROR=ON
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" "$@"
