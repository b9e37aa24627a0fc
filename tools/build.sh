#!/usr/bin/env bash
# Configures and builds sombrero into ./build (or $BUILD_DIR): every target, or only those
# named with --target (README command 1 builds `--target sombrero`, the binary alone: half
# the compile steps and half the time of the whole tree, tests included, on a 2-core
# machine). Other arguments go to CMake's configure step, e.g.
# tools/build.sh -DCMAKE_CUDA_ARCHITECTURES=90 -DSOMBRERO_CUDA=OFF. The binary is
# build/sombrero.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}

targets=()
configure=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target)
      [ $# -ge 2 ] || { echo "tools/build.sh: --target needs a target name (e.g. sombrero)" >&2; exit 2; }
      targets+=("$2")
      shift 2 ;;
    --target=*)
      targets+=("${1#--target=}")
      shift ;;
    *)
      configure+=("$1")
      shift ;;
  esac
done

# The CUDA toolkit installs nvcc outside PATH on Debian; let CMake find it there.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${configure[@]+"${configure[@]}"}
cmake --build "$build_dir" -j "$(nproc)" ${targets[@]+--target "${targets[@]}"}
