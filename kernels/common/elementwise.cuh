// The launch shape of the one-thread-per-element kernels (pointwise.cu, pool.cu): 256 threads
// per block, a grid-stride loop over at most 1024 blocks (about one wave on an H100: 132 SMs x
// 8 blocks); consecutive threads take consecutive elements (or consecutive 16-byte vectors, on
// the kernels' vector paths: size the grid by the vector count), so accesses coalesce.
#pragma once

#include <cstdint>

#include "runtime/kernel_api.h"

namespace sombrero::kernels {

inline constexpr int kElementwiseThreads = 256;
inline constexpr std::int64_t kElementwiseMaxBlocks = 1024;

inline dim3 elementwise_grid(std::int64_t n) {
  const std::int64_t blocks = (n + kElementwiseThreads - 1) / kElementwiseThreads;
  return dim3(static_cast<unsigned>(
      blocks < 1 ? 1 : (blocks > kElementwiseMaxBlocks ? kElementwiseMaxBlocks : blocks)));
}

}  // namespace sombrero::kernels

// for (i over this thread's elements of [0, n)) in a kernel launched with elementwise_grid.
#define SOMBRERO_FOR_EACH_ELEMENT(i, n)                                                       \
  for (std::int64_t i =                                                                       \
           std::int64_t(blockIdx.x) * ::sombrero::kernels::kElementwiseThreads + threadIdx.x; \
       i < (n); i += std::int64_t(gridDim.x) * ::sombrero::kernels::kElementwiseThreads)
