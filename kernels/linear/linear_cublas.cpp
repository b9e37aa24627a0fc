// The fully connected layer on the GPU through cuBLAS (linear.h), built only with CUDA. cuBLAS
// is column-major; a row-major [rows, cols] matrix is its transpose there, so with W [out, in],
// x [B, in], dy [B, out] (all row-major):
//   forward          y^T  [out, B]  = op_T(W) x^T         gemm(T, N, m=out, n=B,  k=in)
//   backward-data    dx^T [in, B]   = W^T dy^T            gemm(N, N, m=in,  n=B,  k=out)
//   backward-weight  dW^T [in, out] += x^T dy             gemm(N, T, m=in,  n=out, k=B), beta 1
// cublasGemmEx with CUBLAS_COMPUTE_32F: f32 accumulation always (bf16 inputs use tensor cores;
// f32 inputs are not rounded to TF32), reduced-precision split-K reductions disallowed (the
// handle's math mode is set so at every call). The bias goes through the pointwise kernels:
// with bf16 y, the GEMM result is rounded, then y + bias is rounded again.
#include <cublas_v2.h>

#include "kernels/linear/linear.h"
#include "kernels/pointwise/pointwise.h"
#include "runtime/cuda_check.h"
#include "runtime/kernel_profiler.h"

namespace sombrero::kernels::cuda {
namespace {

template <typename T>
constexpr cudaDataType_t data_type() {
  return std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16BF;
}

// C (ctype) = alpha op(A) op(B) + beta C, column-major, f32 accumulation.
template <typename T>
void gemm(cublasHandle_t handle, cudaStream_t stream, cublasOperation_t op_a,
          cublasOperation_t op_b, int m, int n, int k, const T* a, int lda, const T* b, int ldb,
          float beta, void* c, cudaDataType_t c_type, int ldc) {
  const float alpha = 1.0f;
  SOMBRERO_CHECK_CUBLAS(cublasSetStream(handle, stream));
  // Split-K partial sums in f32 too, not in the (bf16) output type, which cuBLAS otherwise may
  // use for mixed-precision GEMMs.
  SOMBRERO_CHECK_CUBLAS(cublasSetMathMode(
      handle,
      cublasMath_t(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  runtime::kernel_profiler::Launch timed("cublasGemmEx", __FILE__, __LINE__, stream, true);
  SOMBRERO_CHECK_CUBLAS(cublasGemmEx(handle, op_a, op_b, m, n, k, &alpha, a, data_type<T>(), lda, b,
                                     data_type<T>(), ldb, &beta, c, c_type, ldc, CUBLAS_COMPUTE_32F,
                                     CUBLAS_GEMM_DEFAULT));
}

void check(int batch, int in_features, int out_features) {
  SOMBRERO_CHECK(batch > 0 && in_features > 0 && out_features > 0,
                 "linear: empty shape batch=", batch, " in=", in_features, " out=", out_features);
}

template <typename T>
void forward(cublasHandle_t handle, int batch, int in_features, int out_features, const T* x,
             const T* w, const float* bias, T* y, cudaStream_t stream) {
  check(batch, in_features, out_features);
  gemm(handle, stream, CUBLAS_OP_T, CUBLAS_OP_N, out_features, batch, in_features, w, in_features,
       x, in_features, 0.0f, y, data_type<T>(), out_features);
  if (bias != nullptr) bias_add(batch, out_features, bias, y, stream);
}

template <typename T>
void backward_data(cublasHandle_t handle, int batch, int in_features, int out_features, const T* dy,
                   const T* w, T* dx, cudaStream_t stream) {
  check(batch, in_features, out_features);
  gemm(handle, stream, CUBLAS_OP_N, CUBLAS_OP_N, in_features, batch, out_features, w, in_features,
       dy, out_features, 0.0f, dx, data_type<T>(), in_features);
}

template <typename T>
void backward_weight(cublasHandle_t handle, int batch, int in_features, int out_features,
                     const T* x, const T* dy, float* dw, float* dbias, float* workspace,
                     cudaStream_t stream) {
  check(batch, in_features, out_features);
  gemm(handle, stream, CUBLAS_OP_N, CUBLAS_OP_T, in_features, out_features, batch, x, in_features,
       dy, out_features, 1.0f, dw, CUDA_R_32F, in_features);
  if (dbias != nullptr) {
    SOMBRERO_CHECK(workspace != nullptr,
                   "linear_backward_weight: dbias needs linear_bias_workspace_floats() floats "
                   "of workspace");
    bias_backward(batch, out_features, dy, dbias, workspace, stream);
  }
}

}  // namespace

void linear_forward(cublasHandle_t handle, int batch, int in_features, int out_features,
                    const float* x, const float* w, const float* bias, float* y,
                    cudaStream_t stream) {
  forward(handle, batch, in_features, out_features, x, w, bias, y, stream);
}
void linear_forward(cublasHandle_t handle, int batch, int in_features, int out_features,
                    const bf16* x, const bf16* w, const float* bias, bf16* y, cudaStream_t stream) {
  forward(handle, batch, in_features, out_features, x, w, bias, y, stream);
}
void linear_backward_data(cublasHandle_t handle, int batch, int in_features, int out_features,
                          const float* dy, const float* w, float* dx, cudaStream_t stream) {
  backward_data(handle, batch, in_features, out_features, dy, w, dx, stream);
}
void linear_backward_data(cublasHandle_t handle, int batch, int in_features, int out_features,
                          const bf16* dy, const bf16* w, bf16* dx, cudaStream_t stream) {
  backward_data(handle, batch, in_features, out_features, dy, w, dx, stream);
}
void linear_backward_weight(cublasHandle_t handle, int batch, int in_features, int out_features,
                            const float* x, const float* dy, float* dw, float* dbias,
                            float* workspace, cudaStream_t stream) {
  backward_weight(handle, batch, in_features, out_features, x, dy, dw, dbias, workspace, stream);
}
void linear_backward_weight(cublasHandle_t handle, int batch, int in_features, int out_features,
                            const bf16* x, const bf16* dy, float* dw, float* dbias,
                            float* workspace, cudaStream_t stream) {
  backward_weight(handle, batch, in_features, out_features, x, dy, dw, dbias, workspace, stream);
}

}  // namespace sombrero::kernels::cuda
