// One SGD step on one parameter tensor, as torch.optim.SGD (dampening 0):
//   g   = grad_scale * grad + weight_decay * param
//   buf = momentum * buf + g                     (buf starts at 0, so the first buf is g)
//   d   = nesterov ? g + momentum * buf : buf    (momentum 0: d = g, buf untouched)
//   param -= lr * d
// grad_scale carries gradient clipping (min(1, max_norm / norm)) without a separate pass.
// CPU backend: one OpenMP loop, elementwise.
#pragma once

#include <cstdint>

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

}  // namespace sombrero::kernels
