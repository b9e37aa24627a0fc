// The elementwise operations the layers call (math in kernels/pointwise/pointwise.h), over
// Tensors on any device (dispatch.h): cpu -> the CPU backend (f32), cuda and simt -> the
// hand-written kernels of pointwise.cu (f32 or bf16 activations; bias and dbias f32).
// Activations of one call share a device and a dtype; outputs are allocated by the caller.
#pragma once

#include "kernels/pointwise/pointwise.h"
#include "runtime/tensor.h"

namespace sombrero::layers::ops {

// y = max(x, 0).
void relu_forward(const Tensor& x, Tensor& y);
// dx = dy where y > 0, else 0 (y: the forward's output).
void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx);
// y = a + b.
void add(const Tensor& a, const Tensor& b, Tensor& y);
// y += x.
void add_inplace(const Tensor& x, Tensor& y);
// y[r, c] += bias[c] over y viewed as [numel / C, C], C = bias.numel() (y's last dimension).
void bias_add(const Tensor& bias, Tensor& y);
// dbias[c] += sum_r dy[r, c].
void bias_backward(const Tensor& dy, Tensor& dbias);
// The option-A shortcut: y [N, ceil(H/s), ceil(W/s), C + 2 pad] from x [N, H, W, C]
// (overwrites y), and dx from dy (overwrites dx).
void channel_pad_subsample_forward(const kernels::ChannelPadShape& shape, const Tensor& x,
                                   Tensor& y);
void channel_pad_subsample_backward(const kernels::ChannelPadShape& shape, const Tensor& dy,
                                    Tensor& dx);

}  // namespace sombrero::layers::ops
