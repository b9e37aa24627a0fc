#!/usr/bin/env bash
# The CPU stand-in for compute-sanitizer memcheck: builds the CPU-only configuration with
# AddressSanitizer and UndefinedBehaviorSanitizer (build-sanitize/, or $BUILD_DIR) and runs
# the `simt` and `cpu` tests under them. The SIMT tests execute the CUDA kernels' own
# sources on the CPU, so an out-of-bounds global access, an access past a launch's dynamic
# shared memory, a signed overflow in index arithmetic or a use-after-free in a kernel is
# reported with its source line. Extra arguments go to ctest, e.g. tools/sanitize.sh -R conv2d.
# The MPI tests are left out (OpenMPI's own allocations are not ours to check).
# SOMBRERO_SANITIZE builds at -O1 -g1 (cmake/SombreroOptions.cmake says why).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-sanitize}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOMBRERO_CUDA=OFF \
  -DSOMBRERO_MPI=OFF -DSOMBRERO_WERROR=ON -DSOMBRERO_SANITIZE=address,undefined >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" -L "simt|cpu" "$@"
