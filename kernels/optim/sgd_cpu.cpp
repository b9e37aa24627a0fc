// CPU backend of the SGD update (sgd.h).
#include "kernels/common/parallel.h"
#include "kernels/optim/sgd.h"

namespace sombrero::kernels::cpu {

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

}  // namespace sombrero::kernels::cpu
