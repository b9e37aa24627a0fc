// sum_squares: s = sum_i x_i^2 over n elements (f32 or bf16 in, f32 out).
//
// Two passes, both one kernel each:
//   1. sum_squares_partials: B = sum_squares_blocks(n) blocks of 256 threads. Thread j of
//      block b accumulates x_i^2 for i = b*256 + j + k*B*256 (grid stride, coalesced loads)
//      with fmaf, then the block reduces its 256 sums (warp xor-shuffles, one shared-memory
//      exchange of the 8 warp sums, a last warp shuffle) into partials[b].
//   2. sum_partials: one block reduces the B partials the same way into *result.
// Cost: memory bound, n * sizeof(T) bytes read once, 2n flops; B <= 1024 keeps pass 2 tiny.
// Precision: f32 accumulation (bf16 inputs are widened exactly). Every sum runs in an order
// fixed by n alone, so the result is deterministic, and since all arithmetic is explicit
// (fmaf, adds) the GPU and the SIMT execution produce the same bits.
#include "kernels/reduce/sum_squares.h"

#include "runtime/kernel_api.h"

namespace sombrero::kernels {
namespace {

constexpr int kThreads = kSumSquaresThreads;
constexpr int kWarps = kThreads / 32;
constexpr unsigned kFullWarp = 0xffffffffu;

__device__ __forceinline__ float to_float(float value) {
  return value;
}
__device__ __forceinline__ float to_float(__nv_bfloat16 value) {
  return __bfloat162float(value);
}

__device__ __forceinline__ float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(kFullWarp, value, offset);
  return value;
}

// The sum of `value` over the block's kThreads threads; valid in thread 0.
__device__ __forceinline__ float block_sum(float value) {
  __shared__ float warp_sums[kWarps];
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp = static_cast<int>(threadIdx.x) / 32;
  value = warp_sum(value);
  if (lane == 0) warp_sums[warp] = value;
  __syncthreads();
  value = 0.0f;
  if (warp == 0) value = warp_sum(lane < kWarps ? warp_sums[lane] : 0.0f);
  return value;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    sum_squares_partials(const T* __restrict__ x, std::size_t n, float* __restrict__ partials) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * kThreads;
  float sum = 0.0f;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += stride) {
    const float value = to_float(x[i]);
    sum = fmaf(value, value, sum);
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

__global__ void __launch_bounds__(kThreads)
    sum_partials(const float* __restrict__ partials, int count, float* __restrict__ result) {
  float sum = 0.0f;
  for (int i = static_cast<int>(threadIdx.x); i < count; i += kThreads) sum += partials[i];
  sum = block_sum(sum);
  if (threadIdx.x == 0) *result = sum;
}

template <typename T>
void launch_sum_squares(const T* x, std::size_t n, float* workspace, float* result,
                        cudaStream_t stream) {
  const auto blocks = static_cast<unsigned>(sum_squares_blocks(n));
  SOMBRERO_LAUNCH(sum_squares_partials<T>, dim3(blocks), dim3(kThreads), 0, stream, x, n,
                  workspace);
  SOMBRERO_LAUNCH(sum_partials, dim3(1), dim3(kThreads), 0, stream, workspace,
                  static_cast<int>(blocks), result);
}

}  // namespace

namespace SOMBRERO_EXEC {

void sum_squares(const float* x, std::size_t n, float* workspace, float* result,
                 cudaStream_t stream) {
  launch_sum_squares(x, n, workspace, result, stream);
}

void sum_squares(const bf16* x, std::size_t n, float* workspace, float* result,
                 cudaStream_t stream) {
  // sombrero::bf16 and __nv_bfloat16 are the same 16-bit pattern.
  launch_sum_squares(reinterpret_cast<const __nv_bfloat16*>(x), n, workspace, result, stream);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::kernels
