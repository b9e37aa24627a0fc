// The BatchNorm operations the layers call (math and contracts in kernels/norm/batch_norm.h),
// over Tensors on any device (dispatch.h): cpu -> the CPU backend (f32), cuda and simt -> the
// hand-written kernels of batch_norm.cu. Activations (x, y, dy, dx, relu_output) are f32 or
// bf16 and share a device and a dtype; parameters, their gradients and the statistics
// (running and saved, [channels]) are f32 on the same device. Channels: x's last dimension
// (NHWC). The training passes take their workspace from ops::workspace_floats.
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace sombrero::layers::ops {

// The forward passes take an optional residual (like x): y = max?(bn(x) + residual, 0), a
// residual block's last BatchNorm, sum and ReLU in one pass on a device (composed on the CPU
// backend, with the same f32 roundings).

// Writes y, save_mean and save_invstd; updates running_mean / running_var in place.
// affine (nullptr: not wanted): on a device, receives the coefficients [scale | shift]
// (2 C f32) y was computed with (its buffer reused when it has that size and device), which
// conv2d_backward_data_with_batch_norm can recompute the ReLU's mask from; on the CPU backend
// it is left undefined.
void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 float eps, float momentum, Tensor& y, Tensor& running_mean,
                                 Tensor& running_var, Tensor& save_mean, Tensor& save_invstd,
                                 bool relu, const Tensor* residual = nullptr,
                                 Tensor* affine = nullptr);
// The training forward from a convolution epilogue's per-tile statistics of x
// (conv2d_forward_with_statistics): x bf16 on a device; reads x once.
void batch_norm_forward_training_from_statistics(
    const Tensor& x, const Tensor& statistics, int tile_rows, const Tensor& gamma,
    const Tensor& beta, float eps, float momentum, Tensor& y, Tensor& running_mean,
    Tensor& running_var, Tensor& save_mean, Tensor& save_invstd, bool relu,
    const Tensor* residual = nullptr, Tensor* affine = nullptr);

void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& running_mean, const Tensor& running_var, float eps,
                                  Tensor& y, bool relu, const Tensor* residual = nullptr);
// Overwrites dx, accumulates dgamma and dbeta. relu_output: the output of the ReLU after the
// BatchNorm (dy counts only where it is > 0), else null. masked_gradient (with relu_output;
// null for none): also written, g = dy where relu_output > 0, else 0, in the same pass.
void batch_norm_backward_training(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                  const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                  Tensor& dgamma, Tensor& dbeta, const Tensor* relu_output,
                                  Tensor* masked_gradient = nullptr);
// The same from the backward sums a convolution's backward-data epilogue computed
// (ops::conv2d_backward_data_with_batch_norm): g is the gradient already masked by the ReLU,
// partials the per-tile sums of g and g (x - save_mean) over `tiles` tiles. bf16 on a device.
void batch_norm_backward_training_from_partials(const Tensor& x, const Tensor& g,
                                                const Tensor& partials, std::int64_t tiles,
                                                const Tensor& gamma, const Tensor& save_mean,
                                                const Tensor& save_invstd, Tensor& dx,
                                                Tensor& dgamma, Tensor& dbeta);

}  // namespace sombrero::layers::ops
