#include "layers/linear.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "layers/ops/linear_ops.h"
#include "runtime/error.h"

namespace sombrero::layers {

Linear::Linear(const LinearOptions& options) : Layer("Linear"), options_(options) {
  SOMBRERO_CHECK(options.in_features > 0 && options.out_features > 0, "Linear: invalid sizes ",
                 options.in_features, " -> ", options.out_features);
  weight_ =
      &add_parameter("weight", {options.out_features, options.in_features}, ParameterRole::weight);
  if (options.bias) bias_ = &add_parameter("bias", {options.out_features}, ParameterRole::bias);
  runtime::Generator generator(0);
  const float bound = 1.0f / std::sqrt(float(options.in_features));
  weight_->value.fill_uniform(generator, -bound, bound);
  if (bias_ != nullptr) bias_->value.fill_uniform(generator, -bound, bound);
}

std::string Linear::describe() const {
  return str("Linear(", options_.in_features, " -> ", options_.out_features,
             options_.bias ? ", bias)" : ")");
}

Shape Linear::output_shape(const Shape& input) const {
  SOMBRERO_CHECK(input.rank() == 2 && input[1] == options_.in_features, describe(),
                 ": expects an input [N, ", options_.in_features, "], got ", to_string(input));
  return {input[0], options_.out_features};
}

double Linear::forward_flops(const Shape& input) const {
  return double(output_shape(input)[0]) * options_.out_features *
         (2.0 * options_.in_features + (options_.bias ? 1.0 : 0.0));
}

Tensor Linear::forward(const Context& ctx, const Tensor& x) {
  check_input(x, 2, describe());
  Tensor y = Tensor::empty(output_shape(x.shape()), x.dtype(), x.device());
  const Tensor w = compute_weight(x.dtype());  // the offered bf16 copy, or converted now
  ops::linear_forward(x, w, bias_ != nullptr ? &bias_->value : nullptr, y);
  cached_input_ = ctx.training ? x : Tensor();
  cached_weight_bf16_ = ctx.training && x.dtype() != runtime::DType::f32 ? w : Tensor();
  return y;
}

Tensor Linear::backward(const Context&, const Tensor& dy) {
  check_cached(cached_input_, describe());
  SOMBRERO_CHECK(dy.shape() == output_shape(cached_input_.shape()), describe(),
                 ": output gradient has shape ", to_string(dy.shape()));
  ops::linear_backward_weight(cached_input_, dy, weight_->grad,
                              bias_ != nullptr ? &bias_->grad : nullptr);
  Tensor dx = Tensor::empty(cached_input_.shape(), dy.dtype(), dy.device());
  ops::linear_backward_data(
      dy, cached_weight_bf16_.defined() ? cached_weight_bf16_ : weight_->value, dx);
  cached_input_ = Tensor();
  cached_weight_bf16_ = Tensor();
  return dx;
}

Shape Flatten::output_shape(const Shape& input) const {
  SOMBRERO_CHECK(input.rank() >= 1, "Flatten: expects a batch dimension");
  return {input[0], input.numel() / std::max<std::int64_t>(input[0], 1)};
}

Tensor Flatten::forward(const Context&, const Tensor& x) {
  SOMBRERO_CHECK(x.defined(), "Flatten: input tensor is undefined");
  cached_input_shape_ = x.shape();
  return x.reshape(output_shape(x.shape()));
}

Tensor Flatten::backward(const Context&, const Tensor& dy) {
  return dy.reshape(cached_input_shape_);
}

}  // namespace sombrero::layers
