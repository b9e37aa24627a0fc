// Elementwise operations of the layers: ReLU, residual add, per-channel bias.
//   relu_forward        y = max(x, 0)
//   relu_backward       dx = dy where y > 0, else 0 (from the output y, as PyTorch's in-place
//                       ReLU; dx may alias dy)
//   add                 y = a + b                      (residual sum)
//   add_inplace         y += x                         (gradient of a tensor used twice)
//   bias_add            y[r, c] += bias[c]             over [rows, channels] (NHWC, [N, C])
//   bias_backward       dbias[c] += sum_r dy[r, c]
// CPU backend: OpenMP loops; bias_backward sums in double over a fixed number of row chunks.
#pragma once

#include <cstdint>

namespace sombrero::kernels::cpu {

void relu_forward(std::int64_t n, const float* x, float* y);
void relu_backward(std::int64_t n, const float* y, const float* dy, float* dx);
void add(std::int64_t n, const float* a, const float* b, float* y);
void add_inplace(std::int64_t n, const float* x, float* y);
void bias_add(std::int64_t rows, int channels, const float* bias, float* y);
void bias_backward(std::int64_t rows, int channels, const float* dy, float* dbias);

}  // namespace sombrero::kernels::cpu
