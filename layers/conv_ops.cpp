#include "layers/conv_ops.h"

#include "kernels/conv/conv2d.h"

namespace sombrero::layers::ops {

namespace {
kernels::Conv2dParams params_of(const Context& ctx, const kernels::Conv2dShape& s) {
  kernels::Conv2dParams p;
  p.stride_h = s.stride_h;
  p.stride_w = s.stride_w;
  p.pad_top = s.pad_top;
  p.pad_bottom = s.pad_bottom;
  p.pad_left = s.pad_left;
  p.pad_right = s.pad_right;
  p.dilation_h = s.dilation_h;
  p.dilation_w = s.dilation_w;
  p.algo = ctx.conv_algo;
  return p;
}
}  // namespace

void conv2d_forward(const Context& ctx, const kernels::Conv2dShape& shape, const Tensor& x,
                    const Tensor& w, Tensor& y) {
  kernels::conv2d_forward(x, w, y, params_of(ctx, shape));
}

void conv2d_backward_data(const Context& ctx, const kernels::Conv2dShape& shape, const Tensor& dy,
                          const Tensor& w, Tensor& dx) {
  kernels::conv2d_backward_data(dy, w, dx, params_of(ctx, shape));
}

void conv2d_backward_filter_accumulate(const Context& ctx, const kernels::Conv2dShape& shape,
                                       const Tensor& x, const Tensor& dy, Tensor& dw) {
  kernels::conv2d_backward_filter(x, dy, dw, params_of(ctx, shape), /*accumulate=*/true);
}

}  // namespace sombrero::layers::ops
