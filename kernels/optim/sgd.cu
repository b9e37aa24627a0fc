// Multi-tensor SGD update: every parameter tensor of a model in one launch.
//
// Math (sgd.h, torch.optim.SGD with dampening 0), per element:
//   g = grad_scale grad + wd param;  buf = momentum buf + g;
//   param -= lr (nesterov ? g + momentum buf : buf)      (momentum 0: param -= lr g)
// Parallelisation: the host cuts the tensors into chunks of at most 65536 elements
// (append_sgd_chunks); block b updates chunk b with 256 threads, grid-stride within the chunk
// (coalesced), one 16-byte vector of param, grad and buf per thread and step where the chunk's
// arrays are aligned, else (and for the last count % 4) one element. Elementwise and
// independent: no shared memory, no synchronisation.
// Cost: memory bound: reads param, grad, buf and writes param, buf: 20 bytes per element
// (12 without momentum); a ResNet-50 update moves ~0.5 GB, ~0.2 ms on an H100.
// The gradient norm for clipping runs over the same chunk table (sgd_grad_sum_squares): a
// block per chunk (one f32 partial, fixed-order tree), then one thread adding the partials in
// order in double: two launches for a whole model instead of two per tensor; reads 4 bytes
// per parameter.
// Precision: f32 master weights. The expressions are written as the CPU backend's (no fmaf),
// so the SIMT execution equals the CPU backend bit for bit; nvcc may contract them to FMAs,
// so the GPU result differs from both in the last bit.
#include <cstdint>

#include "kernels/common/vector16.cuh"
#include "kernels/optim/sgd.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {
namespace {

// The update of W consecutive elements from i on (W = 4: one 16-byte vector of each array).
template <int W>
__device__ __forceinline__ void update_elements(const SgdChunk& chunk, const SgdStep& step,
                                                std::int64_t i) {
  float param[W], grad[W], buf[W];
  load_as_f32<W>(chunk.param + i, param);
  load_as_f32<W>(chunk.grad + i, grad);
  if (step.momentum != 0.0f) load_as_f32<W>(chunk.momentum_buffer + i, buf);
  for (int j = 0; j < W; ++j) {
    const float g = step.grad_scale * grad[j] + chunk.weight_decay * param[j];
    if (step.momentum == 0.0f) {
      param[j] -= step.lr * g;
    } else {
      buf[j] = step.momentum * buf[j] + g;
      param[j] -= step.lr * (step.nesterov ? g + step.momentum * buf[j] : buf[j]);
    }
  }
  store_from_f32<W>(chunk.param + i, param);
  if (step.momentum != 0.0f) store_from_f32<W>(chunk.momentum_buffer + i, buf);
}

__device__ __forceinline__ bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

// Whole 16-byte vectors when the chunk's arrays are aligned (they are, except gradients packed
// into communication buckets at odd offsets), then the tail element by element.
__global__ void __launch_bounds__(kSgdThreads)
    sgd_chunks_kernel(const SgdChunk* __restrict__ chunks, SgdStep step) {
  const SgdChunk chunk = chunks[blockIdx.x];
  std::int64_t done = 0;
  if (aligned16(chunk.param) && aligned16(chunk.grad) &&
      (step.momentum == 0.0f || aligned16(chunk.momentum_buffer))) {
    const std::int64_t vectors = chunk.count / 4;
    for (std::int64_t v = threadIdx.x; v < vectors; v += kSgdThreads)
      update_elements<4>(chunk, step, 4 * v);
    done = 4 * vectors;
  }
  for (std::int64_t i = done + threadIdx.x; i < chunk.count; i += kSgdThreads)
    update_elements<1>(chunk, step, i);
}

// chunk_sums[b] = sum of grad^2 over chunk b: each thread over its strided elements (fmaf),
// then a shared-memory tree in a fixed order.
__global__ void __launch_bounds__(kSgdThreads)
    grad_chunk_sum_squares_kernel(const SgdChunk* __restrict__ chunks,
                                  float* __restrict__ chunk_sums) {
  __shared__ float partial[kSgdThreads];
  const SgdChunk chunk = chunks[blockIdx.x];
  float sum = 0.0f;
  for (std::int64_t i = threadIdx.x; i < chunk.count; i += kSgdThreads)
    sum = fmaf(chunk.grad[i], chunk.grad[i], sum);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kSgdThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) chunk_sums[blockIdx.x] = partial[0];
}

__global__ void sum_chunk_sums_kernel(const float* __restrict__ chunk_sums, int chunk_count,
                                      double* __restrict__ total) {
  double sum = 0.0;
  for (int b = 0; b < chunk_count; ++b) sum += static_cast<double>(chunk_sums[b]);
  *total = sum;
}

}  // namespace

namespace SOMBRERO_EXEC {

void sgd_grad_sum_squares(const SgdChunk* chunks, int chunk_count, float* chunk_sums, double* total,
                          cudaStream_t stream) {
  if (chunk_count > 0)
    SOMBRERO_LAUNCH(grad_chunk_sum_squares_kernel, dim3(static_cast<unsigned>(chunk_count)),
                    dim3(kSgdThreads), 0, stream, chunks, chunk_sums);
  SOMBRERO_LAUNCH(sum_chunk_sums_kernel, dim3(1), dim3(1), 0, stream, chunk_sums, chunk_count,
                  total);
}

void sgd_update(const SgdChunk* chunks, int chunk_count, const SgdStep& step, cudaStream_t stream) {
  if (chunk_count == 0) return;
  SOMBRERO_LAUNCH(sgd_chunks_kernel, dim3(static_cast<unsigned>(chunk_count)), dim3(kSgdThreads), 0,
                  stream, chunks, step);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::kernels
