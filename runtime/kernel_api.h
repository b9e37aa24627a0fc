// The one header a kernel source (.cu) includes. It makes the same source build twice:
//   - by nvcc (__CUDACC__): the real CUDA runtime, cuda_bf16.h, PTX warp-matrix wrappers;
//     host launch functions are placed in namespace <family>::cuda.
//   - by the host compiler (SOMBRERO_SIMT): runtime/simt, which executes a launch on the CPU
//     (blocks in turn, each CUDA thread a fiber); host launch functions go in <family>::simt.
// Kernel sources open their host-side namespace as `namespace sombrero::<floor>::SOMBRERO_EXEC`.
// Every launch goes through SOMBRERO_LAUNCH; raw <<<>>> appears nowhere else.
#pragma once

#include <cstddef>
#include <utility>

#include "runtime/error.h"
#include "runtime/kernel_profiler.h"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "runtime/cuda_check.h"
#define SOMBRERO_EXEC cuda
#define SOMBRERO_HOST_DEVICE __host__ __device__
// SOMBRERO_DYNAMIC_SHARED(type, name): `name` is the block's dynamic shared memory as type[].
#define SOMBRERO_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]

namespace sombrero::detail {
// Launches `kernel` and checks the launch (configuration errors surface here, named).
template <typename... Params, typename... Args>
void launch_kernel(const char* name, const char* file, int line, void (*kernel)(Params...),
                   dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
                   Args&&... args) {
  {
    // Under `bench train-step --profile`: bracketed by CUDA events (off: one atomic load).
    runtime::kernel_profiler::Launch timed(name, file, line, stream, /*on_device=*/true);
    kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
  }
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    throw_error(str("launch of kernel ", name, " <<<(", grid.x, ",", grid.y, ",", grid.z, "), (",
                    block.x, ",", block.y, ",", block.z, "), ", shared_bytes, " B>>> failed: ",
                    cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"),
                file, line);
}

// A launch configuration in thread-block clusters of `cluster` blocks (the cluster-dimension
// attribute), for cudaLaunchKernelEx and cudaOccupancyMaxActiveClusters. Not copyable: the
// configuration points at the attribute beside it.
struct ClusterLaunchConfig {
  cudaLaunchAttribute attribute{};
  cudaLaunchConfig_t config{};

  ClusterLaunchConfig(dim3 grid, dim3 block, dim3 cluster, std::size_t shared_bytes,
                      cudaStream_t stream) {
    attribute.id = cudaLaunchAttributeClusterDimension;
    attribute.val.clusterDim.x = cluster.x;
    attribute.val.clusterDim.y = cluster.y;
    attribute.val.clusterDim.z = cluster.z;
    config.gridDim = grid;
    config.blockDim = block;
    config.dynamicSmemBytes = shared_bytes;
    config.stream = stream;
    config.attrs = &attribute;
    config.numAttrs = 1;
  }
  ClusterLaunchConfig(const ClusterLaunchConfig&) = delete;
  ClusterLaunchConfig& operator=(const ClusterLaunchConfig&) = delete;
};

// The same in thread-block clusters of `cluster` blocks (sm_90; cudaLaunchKernelEx with the
// cluster-dimension attribute). The grid must be whole clusters.
template <typename... Params, typename... Args>
void launch_kernel_clustered(const char* name, const char* file, int line,
                             void (*kernel)(Params...), dim3 grid, dim3 block, dim3 cluster,
                             std::size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  const ClusterLaunchConfig launch(grid, block, cluster, shared_bytes, stream);
  cudaError_t status = cudaSuccess;
  {
    runtime::kernel_profiler::Launch timed(name, file, line, stream, /*on_device=*/true);
    status = cudaLaunchKernelEx(&launch.config, kernel, std::forward<Args>(args)...);
  }
  if (status == cudaSuccess) status = cudaGetLastError();
  if (status != cudaSuccess)
    throw_error(str("launch of kernel ", name, " <<<(", grid.x, ",", grid.y, ",", grid.z, "), (",
                    block.x, ",", block.y, ",", block.z, "), ", shared_bytes,
                    " B>>> in clusters of (", cluster.x, ",", cluster.y, ",", cluster.z,
                    ") failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"),
                file, line);
}
}  // namespace sombrero::detail

namespace sombrero::runtime {
// Lets `kernel` be launched with up to `bytes` of dynamic shared memory: beyond the default
// 48 KB a kernel must opt in (up to 227 KB per block on sm_90). Call before launching; the
// setting holds for the current device. Returns true so callers can run it once through a
// function-local static.
template <typename... Params>
bool allow_dynamic_shared_memory(void (*kernel)(Params...), std::size_t bytes) {
  if (bytes > 48 * 1024)
    SOMBRERO_CHECK_CUDA(cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel),
                                             cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             static_cast<int>(bytes)));
  return true;
}

// The most shared memory (static plus dynamic) one block may use on the current device once
// it opts in: 227 KB on sm_90, 163 KB on sm_80, 99 KB on sm_86/89.
inline std::size_t max_shared_memory_per_block() {
  int device = 0, bytes = 0;
  SOMBRERO_CHECK_CUDA(cudaGetDevice(&device));
  SOMBRERO_CHECK_CUDA(
      cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  return static_cast<std::size_t>(bytes);
}

// How many blocks of `kernel` (block_threads threads, dynamic_shared_bytes) the current
// device runs at once: its occupancy per SM times the SMs (at least 1). A persistent kernel
// launches this many and loops over its work.
template <typename... Params>
int concurrent_blocks(void (*kernel)(Params...), int block_threads,
                      std::size_t dynamic_shared_bytes) {
  int device = 0, per_sm = 0, sms = 0;
  SOMBRERO_CHECK_CUDA(cudaGetDevice(&device));
  SOMBRERO_CHECK_CUDA(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, block_threads,
                                                                    dynamic_shared_bytes));
  SOMBRERO_CHECK_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return per_sm * sms > 1 ? per_sm * sms : 1;
}

// Whether the current device launches thread-block clusters (sm_90 and later).
inline bool cluster_launch_supported() {
  int device = 0, supported = 0;
  SOMBRERO_CHECK_CUDA(cudaGetDevice(&device));
  SOMBRERO_CHECK_CUDA(cudaDeviceGetAttribute(&supported, cudaDevAttrClusterLaunch, device));
  return supported != 0;
}

// How many clusters of `cluster_blocks` blocks of `kernel` (block_threads threads,
// dynamic_shared_bytes each) the current device runs at once (at least 1): a persistent
// cluster kernel launches this many. Call allow_dynamic_shared_memory first.
template <typename... Params>
int concurrent_clusters(void (*kernel)(Params...), int block_threads, int cluster_blocks,
                        std::size_t dynamic_shared_bytes) {
  const dim3 cluster(static_cast<unsigned>(cluster_blocks));
  const detail::ClusterLaunchConfig launch(cluster, dim3(static_cast<unsigned>(block_threads)),
                                           cluster, dynamic_shared_bytes, nullptr);
  int clusters = 0;
  SOMBRERO_CHECK_CUDA(cudaOccupancyMaxActiveClusters(&clusters, kernel, &launch.config));
  return clusters > 1 ? clusters : 1;
}
}  // namespace sombrero::runtime

#elif defined(SOMBRERO_SIMT)
#include "runtime/simt/simt.h"  // defines dim3, cudaStream_t, __global__, ... and simt::launch
#define SOMBRERO_EXEC simt
#define SOMBRERO_HOST_DEVICE
#define SOMBRERO_DYNAMIC_SHARED(type, name) SOMBRERO_SIMT_DYNAMIC_SHARED(type, name)

namespace sombrero::detail {
template <typename... Params, typename... Args>
void launch_kernel(const char* name, const char* file, int line, void (*kernel)(Params...),
                   dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t /*stream*/,
                   Args&&... args) {
  // Under `bench train-step --profile`: the launch runs on the CPU, timed by the host clock.
  runtime::kernel_profiler::Launch timed(name, file, line, nullptr, /*on_device=*/false);
  ::sombrero::simt::launch(name, file, line, kernel, grid, block, shared_bytes,
                           std::forward<Args>(args)...);
}

template <typename... Params, typename... Args>
void launch_kernel_clustered(const char* name, const char* file, int line,
                             void (*kernel)(Params...), dim3 grid, dim3 block, dim3 cluster,
                             std::size_t shared_bytes, cudaStream_t /*stream*/, Args&&... args) {
  runtime::kernel_profiler::Launch timed(name, file, line, nullptr, /*on_device=*/false);
  ::sombrero::simt::launch_clustered(name, file, line, kernel, grid, block, cluster, shared_bytes,
                                     std::forward<Args>(args)...);
}
}  // namespace sombrero::detail

namespace sombrero::runtime {
// The SIMT executor accepts up to 227 KB per launch (the sm_90 opt-in maximum) and checks it.
template <typename... Params>
bool allow_dynamic_shared_memory(void (*)(Params...), std::size_t) {
  return true;
}

// The SIMT executor's limit, the sm_90 opt-in maximum.
inline std::size_t max_shared_memory_per_block() {
  return 227 * 1024;
}

// The SIMT executor runs blocks one after another; it answers 2, so that a persistent
// kernel's loop over its work runs (and is tested) whenever the work exceeds two blocks.
template <typename... Params>
int concurrent_blocks(void (*)(Params...), int, std::size_t) {
  return 2;
}

// The SIMT executor runs clusters (all their blocks' threads together) like blocks.
inline bool cluster_launch_supported() {
  return true;
}
template <typename... Params>
int concurrent_clusters(void (*)(Params...), int, int, std::size_t) {
  return 2;
}
}  // namespace sombrero::runtime

#else
#error "runtime/kernel_api.h is for kernel sources: build them with nvcc or with SOMBRERO_SIMT"
#endif

// SOMBRERO_LAUNCH(kernel, grid, block, shared_bytes, stream, args...)
#define SOMBRERO_LAUNCH(kernel, grid, block, shared_bytes, stream, ...)               \
  ::sombrero::detail::launch_kernel(#kernel, __FILE__, __LINE__, kernel, grid, block, \
                                    shared_bytes, stream __VA_OPT__(, ) __VA_ARGS__)
// SOMBRERO_LAUNCH_CLUSTERED(kernel, grid, block, cluster, shared_bytes, stream, args...): in
// thread-block clusters of `cluster` blocks (sm_90; check runtime::cluster_launch_supported).
#define SOMBRERO_LAUNCH_CLUSTERED(kernel, grid, block, cluster, shared_bytes, stream, ...)      \
  ::sombrero::detail::launch_kernel_clustered(#kernel, __FILE__, __LINE__, kernel, grid, block, \
                                              cluster, shared_bytes,                            \
                                              stream __VA_OPT__(, ) __VA_ARGS__)
// The same with the name errors and the kernel profiler give it (a const char* that outlives
// the launch), where the kernel expression alone says too little ("conv_gemm_kernel<Problem,
// ...>").
#define SOMBRERO_LAUNCH_NAMED(name, kernel, grid, block, shared_bytes, stream, ...)              \
  ::sombrero::detail::launch_kernel(name, __FILE__, __LINE__, kernel, grid, block, shared_bytes, \
                                    stream __VA_OPT__(, ) __VA_ARGS__)
