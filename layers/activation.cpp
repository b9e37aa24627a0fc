#include "layers/activation.h"

#include <utility>

#include "layers/ops/pointwise_ops.h"
#include "runtime/error.h"

namespace sombrero::layers {

Tensor ReLU::forward(const Context& ctx, const Tensor& x) {
  SOMBRERO_CHECK(x.defined(), "ReLU: input tensor is undefined");
  check_input(x, x.rank(), "ReLU");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  ops::relu_forward(x, y);
  cached_output_ = ctx.training ? y : Tensor();
  return y;
}

void ReLU::adopt_output(const Context& ctx, const Tensor& y) {
  cached_output_ = ctx.training ? y : Tensor();
}

Tensor ReLU::take_output(const Shape& gradient_shape) {
  check_cached(cached_output_, "ReLU");
  SOMBRERO_CHECK(gradient_shape == cached_output_.shape(), "ReLU: output gradient has shape ",
                 to_string(gradient_shape), ", expected ", to_string(cached_output_.shape()));
  return std::exchange(cached_output_, Tensor());
}

Tensor ReLU::backward(const Context&, const Tensor& dy) {
  const Tensor y = take_output(dy.shape());
  Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  ops::relu_backward(y, dy, dx);
  return dx;
}

}  // namespace sombrero::layers
