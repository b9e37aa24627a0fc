#!/usr/bin/env bash
# Configures and builds sombrero into ./build (or $BUILD_DIR). Extra arguments go to CMake's
# configure step, e.g. tools/build.sh -DCMAKE_CUDA_ARCHITECTURES=90 -DSOMBRERO_CUDA=OFF.
# The binary is build/sombrero.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}

# The CUDA toolkit installs nvcc outside PATH on Debian; let CMake find it there.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir" -j "$(nproc)"
