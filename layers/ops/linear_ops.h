// The fully connected operations the layers call (math in kernels/linear/linear.h), over
// Tensors on any device: x, dx [B, in]; y, dy [B, out]; w [out, in]; bias, dbias [out] (f32,
// may be null); dw f32 (the master gradient, accumulated, as dbias).
//   cpu   the CPU backend (OpenBLAS), f32.
//   cuda  cuBLAS (kernels/linear/linear_cublas.cpp) on the tensors' stream, the context's
//         handle; w in the activations' dtype (a bf16 copy of the master weight for bf16).
//   simt  the one op whose simt execution is not our kernel: there is no cuBLAS on the CPU, so
//         the GEMMs run on the CPU backend over the host pointers (bf16 operands widened to
//         f32, the result rounded once to bf16, as cuBLAS's f32 accumulation does), and the
//         bias add and bias gradient run the pointwise kernels' source (as cuBLAS's path does).
#pragma once

#include "runtime/tensor.h"

namespace sombrero::layers::ops {

// y = x w^T (+ bias).
void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y);
// dx = dy w (overwrites dx).
void linear_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx);
// dw += dy^T x, dbias += sum_b dy.
void linear_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* dbias);

}  // namespace sombrero::layers::ops
