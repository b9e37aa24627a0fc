// One SGD step on one parameter tensor, as torch.optim.SGD (dampening 0):
//   g   = grad_scale * grad + weight_decay * param
//   buf = momentum * buf + g                     (buf starts at 0, so the first buf is g)
//   d   = nesterov ? g + momentum * buf : buf    (momentum 0: d = g, buf untouched)
//   param -= lr * d
// grad_scale carries gradient clipping (min(1, max_norm / norm)) without a separate pass.
// CPU backend: one OpenMP loop, elementwise.
// CUDA / SIMT (sgd.cu): one launch for every parameter tensor of a model (a multi-tensor
// update): the tensors are cut into chunks of at most kSgdChunkElements, one block per chunk.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

struct SgdStep {
  float lr = 0.0f;
  float momentum = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  float grad_scale = 1.0f;
};

namespace cpu {
// momentum_buffer may be null when step.momentum == 0.
void sgd_update(std::int64_t n, float* param, const float* grad, float* momentum_buffer,
                const SgdStep& step);
}  // namespace cpu

inline constexpr std::int64_t kSgdChunkElements = 1 << 16;
inline constexpr int kSgdThreads = 256;

// A piece of one parameter tensor: `count` elements from these pointers on.
struct SgdChunk {
  float* param = nullptr;
  const float* grad = nullptr;
  float* momentum_buffer = nullptr;  // null when momentum == 0
  float weight_decay = 0.0f;         // per tensor (0 for excluded norm/bias parameters)
  std::int64_t count = 0;
};

// Cuts a tensor into chunks of at most kSgdChunkElements and appends them to `chunks`.
void append_sgd_chunks(std::vector<SgdChunk>& chunks, float* param, const float* grad,
                       float* momentum_buffer, float weight_decay, std::int64_t count);

// The update of every chunk in one launch; `chunks` points to `chunk_count` SgdChunk in device
// memory (host memory for simt). step.weight_decay is ignored (each chunk carries its own).
// sgd_grad_sum_squares: the squared L2 norm of every chunk's gradient together (clipping,
// logging) in two launches, whatever the number of tensors: one block per chunk writes its
// f32 sum of squares to chunk_sums[chunk] (chunk_count floats of device memory), then one
// thread adds them in order, in double, into *total (device memory). Deterministic.
#define SOMBRERO_SGD_KERNEL_API                                                         \
  void sgd_update(const SgdChunk* chunks, int chunk_count, const SgdStep& step,         \
                  cudaStream_t stream);                                                 \
  void sgd_grad_sum_squares(const SgdChunk* chunks, int chunk_count, float* chunk_sums, \
                            double* total, cudaStream_t stream);
namespace cuda {
SOMBRERO_SGD_KERNEL_API
}  // namespace cuda
namespace simt {
SOMBRERO_SGD_KERNEL_API
}  // namespace simt
#undef SOMBRERO_SGD_KERNEL_API

}  // namespace sombrero::kernels
