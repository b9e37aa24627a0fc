// Fully connected layer, weights [out, in] as PyTorch's nn.Linear:
//   forward          y [B, out] = x [B, in] W^T + b
//   backward-data    dx [B, in] = dy [B, out] W            (overwrites dx)
//   backward-weight  dW [out, in] += dy^T x,  db [out] += sum_b dy   (accumulates)
// CPU backend: OpenBLAS sgemm (its own threads); the bias gradient via pointwise.h.
#pragma once

namespace sombrero::kernels::cpu {

// bias may be null.
void linear_forward(int batch, int in_features, int out_features, const float* x, const float* w,
                    const float* bias, float* y);
void linear_backward_data(int batch, int in_features, int out_features, const float* dy,
                          const float* w, float* dx);
// dbias may be null.
void linear_backward_weight(int batch, int in_features, int out_features, const float* x,
                            const float* dy, float* dw, float* dbias);

}  // namespace sombrero::kernels::cpu
