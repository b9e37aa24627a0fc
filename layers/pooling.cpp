#include "layers/pooling.h"

#include <cstdint>

#include "layers/ops/pool_ops.h"
#include "runtime/error.h"

namespace sombrero::layers {

kernels::Pool2dShape pool2d_shape(const Shape& input, const Pool2dOptions& options) {
  SOMBRERO_CHECK(input.rank() == 4, "pool2d: expects an NHWC input, got ", to_string(input));
  kernels::Pool2dShape s;
  s.batch = int(input[0]);
  s.in_height = int(input[1]);
  s.in_width = int(input[2]);
  s.channels = int(input[3]);
  s.kernel_h = s.kernel_w = options.kernel;
  s.stride_h = s.stride_w = options.stride;
  s.pad_h = s.pad_w = options.padding;
  kernels::check_pool2d_shape(s);
  return s;
}

namespace {
std::string pool_text(const char* type, const Pool2dOptions& o) {
  return str(type, "(", o.kernel, "x", o.kernel, ", stride ", o.stride, ", pad ", o.padding, ")");
}
Shape pool_output(const Shape& input, const Pool2dOptions& o) {
  const kernels::Pool2dShape s = pool2d_shape(input, o);
  return {s.batch, s.out_height(), s.out_width(), s.channels};
}
}  // namespace

std::string MaxPool2d::describe() const {
  return pool_text("MaxPool2d", options_);
}
Shape MaxPool2d::output_shape(const Shape& input) const {
  return pool_output(input, options_);
}
double MaxPool2d::forward_flops(const Shape& input) const {
  return double(output_shape(input).numel()) * options_.kernel * options_.kernel;
}

Tensor MaxPool2d::forward(const Context& ctx, const Tensor& x) {
  check_input(x, 4, describe());
  const kernels::Pool2dShape s = pool2d_shape(x.shape(), options_);
  Tensor y = Tensor::empty(output_shape(x.shape()), x.dtype(), x.device());
  argmax_ =
      runtime::DeviceArray<kernels::PoolArgmax>(static_cast<std::size_t>(y.numel()), x.device());
  ops::max_pool2d_forward(s, x, y, argmax_);
  if (ctx.training) {
    cached_input_shape_ = x.shape();
  } else {
    argmax_ = {};
  }
  return y;
}

Tensor MaxPool2d::backward(const Context&, const Tensor& dy) {
  SOMBRERO_CHECK(argmax_.defined(), describe(), ": backward without a training-mode forward");
  const kernels::Pool2dShape s = pool2d_shape(cached_input_shape_, options_);
  SOMBRERO_CHECK(dy.shape() == output_shape(cached_input_shape_), describe(),
                 ": output gradient has shape ", to_string(dy.shape()));
  Tensor dx = Tensor::empty(cached_input_shape_, dy.dtype(), dy.device());
  ops::max_pool2d_backward(s, dy, argmax_, dx);
  argmax_ = {};
  return dx;
}

std::string AvgPool2d::describe() const {
  return pool_text("AvgPool2d", options_);
}
Shape AvgPool2d::output_shape(const Shape& input) const {
  return pool_output(input, options_);
}
double AvgPool2d::forward_flops(const Shape& input) const {
  return double(output_shape(input).numel()) * options_.kernel * options_.kernel;
}

Tensor AvgPool2d::forward(const Context& ctx, const Tensor& x) {
  check_input(x, 4, describe());
  const kernels::Pool2dShape s = pool2d_shape(x.shape(), options_);
  Tensor y = Tensor::empty(output_shape(x.shape()), x.dtype(), x.device());
  ops::avg_pool2d_forward(s, x, y);
  cached_input_shape_ = x.shape();
  cached_ = ctx.training;
  return y;
}

Tensor AvgPool2d::backward(const Context&, const Tensor& dy) {
  SOMBRERO_CHECK(cached_, describe(), ": backward without a training-mode forward");
  SOMBRERO_CHECK(dy.shape() == output_shape(cached_input_shape_), describe(),
                 ": output gradient has shape ", to_string(dy.shape()));
  Tensor dx = Tensor::empty(cached_input_shape_, dy.dtype(), dy.device());
  ops::avg_pool2d_backward(pool2d_shape(cached_input_shape_, options_), dy, dx);
  cached_ = false;
  return dx;
}

Shape GlobalAvgPool::output_shape(const Shape& input) const {
  SOMBRERO_CHECK(input.rank() == 4, "GlobalAvgPool: expects an NHWC input, got ", to_string(input));
  return {input[0], input[3]};
}

Tensor GlobalAvgPool::forward(const Context& ctx, const Tensor& x) {
  check_input(x, 4, "GlobalAvgPool");
  Tensor y = Tensor::empty(output_shape(x.shape()), x.dtype(), x.device());
  ops::global_avg_pool_forward(x, y);
  cached_input_shape_ = x.shape();
  cached_ = ctx.training;
  return y;
}

Tensor GlobalAvgPool::backward(const Context&, const Tensor& dy) {
  SOMBRERO_CHECK(cached_, "GlobalAvgPool: backward without a training-mode forward");
  const Shape& in = cached_input_shape_;
  SOMBRERO_CHECK(dy.shape() == output_shape(in), "GlobalAvgPool: output gradient has shape ",
                 to_string(dy.shape()));
  Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
  ops::global_avg_pool_backward(dy, dx);
  cached_ = false;
  return dx;
}

}  // namespace sombrero::layers
