// The convolution operations the layers call. cpu and cuda go through the Tensor-level op of
// kernels/conv/conv2d.h (CPU backend; hand-written kernels or cuDNN by Context::conv_algo);
// simt runs the hand-written kernels' .cu sources on the CPU (cuDNN has no simt execution,
// so algo cudnn is refused there). dw is f32 also for bf16 activations (master weights).
#pragma once

#include "kernels/conv/conv2d_shape.h"
#include "layers/context.h"
#include "runtime/tensor.h"

namespace sombrero::layers::ops {

void conv2d_forward(const Context& ctx, const kernels::Conv2dShape& shape, const Tensor& x,
                    const Tensor& w, Tensor& y);
void conv2d_backward_data(const Context& ctx, const kernels::Conv2dShape& shape, const Tensor& dy,
                          const Tensor& w, Tensor& dx);
// dw += the filter gradient.
void conv2d_backward_filter_accumulate(const Context& ctx, const kernels::Conv2dShape& shape,
                                       const Tensor& x, const Tensor& dy, Tensor& dw);

}  // namespace sombrero::layers::ops
