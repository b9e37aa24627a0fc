// The convolution operations the layers call, in one place: the Tensor-level op of
// kernels/conv/conv2d.h, which dispatches by device (cpu, cuda) and Context::conv_algo.
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
