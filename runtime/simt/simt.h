// The one header the SIMT build of a kernel source sees (through runtime/kernel_api.h): it
// makes CUDA device code compile with the host compiler and run on the CPU.
//
//   __global__/__device__/__host__/...  empty or plain C++ attributes
//   __shared__                          `static thread_local`: one instance per OS thread, so
//                                       every fiber (CUDA thread) of a block shares it and
//                                       blocks running on other OS threads do not
//   threadIdx/blockIdx/blockDim/gridDim thread_local variables set for the running fiber
//   __syncthreads, warp primitives      sync.h, warp.h (collectives through the executor)
//   atomics, math, bf16, vector types   atomics.h, intrinsics.h, device_bf16.h, vector_types.h
//   simt::launch                        launch.h
//
// What cannot be emulated (see docs/kernels.md): timing, memory-model subtleties beyond
// "fibers run one at a time between sync points", inline PTX other than the warp_mma.h,
// warpgroup_mma.h and cluster.h wrappers, the other Hopper-only features (TMA), texture memory.
#pragma once

// Standard headers first: the keyword macros below must not reach them.
#include <cstddef>
#include <cstdint>

#include "runtime/error.h"
#include "runtime/simt/atomics.h"
#include "runtime/simt/device_bf16.h"
#include "runtime/simt/executor.h"
#include "runtime/simt/intrinsics.h"
#include "runtime/simt/launch.h"
#include "runtime/simt/schedule.h"
#include "runtime/simt/sync.h"
#include "runtime/simt/vector_types.h"
#include "runtime/simt/warp.h"
#include "runtime/stream_fwd.h"

namespace sombrero::simt {
// A vector load or store of `bytes` (8 or 16) at p. The GPU requires natural alignment and
// stops the kernel with "misaligned address" otherwise; the SIMT build, whose memcpy-based
// vector accesses would work anyway, checks it and fails the launch the same way.
inline void check_vector_alignment(const void* p, std::size_t bytes) {
  if (reinterpret_cast<std::uintptr_t>(p) % bytes != 0)
    throw_error(
        str("misaligned address: a ", bytes, "-byte vector access at ", p, " (a GPU faults on it)"),
        __FILE__, __LINE__);
}
}  // namespace sombrero::simt

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __shared__ static thread_local
// __restrict__ is a GCC/Clang keyword already.

// In the SIMT build, SOMBRERO_DYNAMIC_SHARED(float, tile) makes `tile` point at the block's
// dynamic shared memory (the launch's shared_bytes, 128-byte aligned, poisoned with 0xff
// bytes at block start).
#define SOMBRERO_SIMT_DYNAMIC_SHARED(type, name) \
  type* const name = static_cast<type*>(::sombrero::simt::detail::dynamic_shared_memory())
