// Fully connected layer, weights [out, in] as PyTorch's nn.Linear:
//   forward          y [B, out] = x [B, in] W^T + b
//   backward-data    dx [B, in] = dy [B, out] W            (overwrites dx)
//   backward-weight  dW [out, in] += dy^T x,  db [out] += sum_b dy   (accumulates)
// CPU backend: OpenBLAS sgemm (its own threads); the bias gradient via pointwise.h.
// GPU (linear_cublas.cpp, CUDA builds only): cuBLAS, the baseline library (below).
#pragma once

#include <cstddef>

#include "kernels/pointwise/pointwise.h"
#include "runtime/bf16.h"
#include "runtime/cuda_context.h"  // cublasHandle_t (declared, no CUDA header)
#include "runtime/stream_fwd.h"

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

namespace sombrero::kernels::cuda {

// The same three operations with cuBLAS (cublasGemmEx, f32 accumulation, CUBLAS_COMPUTE_32F:
// no TF32), asynchronous on `stream` (set on `handle`), device pointers. Activations and the
// weight copy used by the GEMMs are f32 or bf16 (bf16: tensor cores, f32 accumulation, one
// rounding of y / dx); weight and bias gradients are f32 (master gradients), accumulated.
// The bias goes through the pointwise kernels (bias_add, bias_backward); linear_backward_weight
// needs linear_bias_workspace_floats(batch, out_features) floats of workspace when dbias is
// not null (null workspace otherwise).
inline std::size_t linear_bias_workspace_floats(int batch, int out_features) {
  return bias_backward_workspace_floats(batch, out_features);
}

#define SOMBRERO_LINEAR_CUBLAS_API(T)                                                              \
  void linear_forward(cublasHandle_t handle, int batch, int in_features, int out_features,         \
                      const T* x, const T* w, const float* bias, T* y, cudaStream_t stream);       \
  void linear_backward_data(cublasHandle_t handle, int batch, int in_features, int out_features,   \
                            const T* dy, const T* w, T* dx, cudaStream_t stream);                  \
  void linear_backward_weight(cublasHandle_t handle, int batch, int in_features, int out_features, \
                              const T* x, const T* dy, float* dw, float* dbias, float* workspace,  \
                              cudaStream_t stream);
SOMBRERO_LINEAR_CUBLAS_API(float)
SOMBRERO_LINEAR_CUBLAS_API(bf16)
#undef SOMBRERO_LINEAR_CUBLAS_API

}  // namespace sombrero::kernels::cuda
