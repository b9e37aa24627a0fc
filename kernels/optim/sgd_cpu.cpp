// CPU backend of the SGD update (sgd.h).
#include "kernels/common/parallel.h"
#include "kernels/optim/sgd.h"

#include <algorithm>
#include <cstdint>

namespace sombrero::kernels {

void append_sgd_chunks(std::vector<SgdChunk>& chunks, float* param, const float* grad,
                       float* momentum_buffer, float weight_decay, std::int64_t count) {
  for (std::int64_t begin = 0; begin < count; begin += kSgdChunkElements)
    chunks.push_back({param + begin, grad + begin,
                      momentum_buffer != nullptr ? momentum_buffer + begin : nullptr, weight_decay,
                      std::min(kSgdChunkElements, count - begin)});
}

namespace cpu {

void sgd_update(std::int64_t n, float* param, const float* grad, float* momentum_buffer,
                const SgdStep& step) {
  if (step.momentum == 0.0f) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinimum)
    for (std::int64_t i = 0; i < n; ++i) {
      const float g = step.grad_scale * grad[i] + step.weight_decay * param[i];
      param[i] -= step.lr * g;
    }
    return;
  }
#pragma omp parallel for schedule(static) if (n >= kParallelMinimum)
  for (std::int64_t i = 0; i < n; ++i) {
    const float g = step.grad_scale * grad[i] + step.weight_decay * param[i];
    const float buf = step.momentum * momentum_buffer[i] + g;
    momentum_buffer[i] = buf;
    param[i] -= step.lr * (step.nesterov ? g + step.momentum * buf : buf);
  }
}

}  // namespace cpu
}  // namespace sombrero::kernels
