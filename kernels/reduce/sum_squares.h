// Sum of squares of a vector, sum_i x_i^2, with an f32 result: the squared L2 norm used for
// gradient-norm clipping. Three executions of the same operation:
//   cpu::sum_squares   the CPU backend: host pointers, accumulates in double, returns the sum.
//   cuda::sum_squares  the CUDA kernel (sum_squares.cu): device pointers, stream-ordered, no
//                      host sync; writes the sum to *result (device memory).
//   simt::sum_squares  the same .cu executed on the CPU by runtime/simt: host pointers.
// The CUDA/SIMT result is deterministic: the grid size depends only on n, and every
// reduction runs in a fixed order (so the GPU and the SIMT execution agree bit for bit).
#pragma once

#include <algorithm>
#include <cstddef>

#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

inline constexpr int kSumSquaresThreads = 256;               // threads per block
inline constexpr std::size_t kSumSquaresMaxBlocks = 1024;    // first-pass blocks at most
inline constexpr std::size_t kSumSquaresItemsPerThread = 4;  // before the grid saturates

// Blocks of the first pass, a function of n only (that keeps the result deterministic).
inline std::size_t sum_squares_blocks(std::size_t n) {
  const std::size_t per_block = kSumSquaresThreads * kSumSquaresItemsPerThread;
  return std::clamp<std::size_t>((n + per_block - 1) / per_block, 1, kSumSquaresMaxBlocks);
}
// Floats of device workspace cuda::/simt::sum_squares need for n elements.
inline std::size_t sum_squares_workspace_floats(std::size_t n) {
  return sum_squares_blocks(n);
}

namespace cpu {
float sum_squares(const float* x, std::size_t n);
float sum_squares(const bf16* x, std::size_t n);
}  // namespace cpu

namespace cuda {
void sum_squares(const float* x, std::size_t n, float* workspace, float* result,
                 cudaStream_t stream);
void sum_squares(const bf16* x, std::size_t n, float* workspace, float* result,
                 cudaStream_t stream);
}  // namespace cuda

namespace simt {
void sum_squares(const float* x, std::size_t n, float* workspace, float* result,
                 cudaStream_t stream);
void sum_squares(const bf16* x, std::size_t n, float* workspace, float* result,
                 cudaStream_t stream);
}  // namespace simt

}  // namespace sombrero::kernels
