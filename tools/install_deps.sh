#!/usr/bin/env bash
# Installs the Debian 12 packages sombrero builds and tests with, skipping those already
# present (safe to run again). The CUDA toolkit (nvcc, cuBLAS, cuDNN, NCCL) is expected to be
# installed already, usually under /usr/local/cuda; without it the CPU backend is built.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  libopenblas-dev libjpeg62-turbo-dev libturbojpeg0-dev libpng-dev nlohmann-json3-dev
  libopenmpi-dev openmpi-bin
  python3
  dataset-fashion-mnist
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install_deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
