// Thread-block clusters (sm_90): the blocks of a cluster run at once on neighbouring SMs and
// read and write each other's shared memory (distributed shared memory). Launch with
// SOMBRERO_LAUNCH_CLUSTERED (runtime/kernel_api.h) where runtime::cluster_launch_supported().
//
//   cluster_rank()              this block's rank in its cluster (%cluster_ctarank)
//   cluster_sync()              barrier.cluster.arrive.release + wait.acquire: every thread of
//                               every block of the cluster; shared-memory writes before it
//                               are visible to the whole cluster after it
//   cluster_shared(p, rank)     the address in block `rank`'s shared memory of p, a pointer
//                               into this block's (mapa on a generic address); plain loads
//                               and stores use it
// A block must not exit while another may still access its shared memory: a cluster kernel
// ends with cluster_sync() after its last remote access.
// Under nvcc for an architecture before sm_90 (the launch never asks for a cluster there)
// cluster_rank() is 0, cluster_shared the identity and cluster_sync() traps. In the SIMT build
// the blocks of a cluster are fibers of one scheduler (runtime/simt/executor.h): the cluster
// barrier waits for all of them, a kernel that misses one reads poisoned shared memory under
// some schedule, and a block that exits after another mapped its shared memory, with no
// cluster barrier between, fails the launch.
#pragma once

#include <cstdint>

#include "runtime/kernel_api.h"

namespace sombrero::runtime {

#if defined(__CUDACC__)

__device__ __forceinline__ unsigned cluster_rank() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  unsigned rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(rank));
  return rank;
#else
  return 0;
#endif
}

__device__ __forceinline__ void cluster_sync() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "barrier.cluster.arrive.release.aligned;\n"
      "barrier.cluster.wait.acquire.aligned;\n" ::
          : "memory");
#elif defined(__CUDA_ARCH__)
  __trap();
#endif
}

template <typename T>
__device__ __forceinline__ T* cluster_shared(T* local, unsigned rank) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  std::uint64_t remote;
  asm volatile("mapa.u64 %0, %1, %2;\n"
               : "=l"(remote)
               : "l"(reinterpret_cast<std::uint64_t>(local)), "r"(rank));
  return reinterpret_cast<T*>(remote);
#else
  (void)rank;
  return local;
#endif
}

#else  // SOMBRERO_SIMT

inline unsigned cluster_rank() {
  return ::sombrero::simt::detail::cluster_rank();
}

inline void cluster_sync(std::source_location site = std::source_location::current()) {
  ::sombrero::simt::detail::cluster_barrier(site);
}

template <typename T>
T* cluster_shared(T* local, unsigned rank,
                  std::source_location site = std::source_location::current()) {
  return static_cast<T*>(::sombrero::simt::detail::cluster_shared(local, rank, site));
}

#endif

}  // namespace sombrero::runtime
