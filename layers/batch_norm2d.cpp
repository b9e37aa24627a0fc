#include "layers/batch_norm2d.h"

#include "kernels/norm/batch_norm.h"
#include "runtime/error.h"

namespace sombrero::layers {

BatchNorm2d::BatchNorm2d(const BatchNorm2dOptions& options)
    : Layer("BatchNorm2d"), options_(options) {
  SOMBRERO_CHECK(
      options.channels > 0 && options.eps > 0 && options.momentum >= 0 && options.momentum <= 1,
      "BatchNorm2d: invalid options channels ", options.channels, ", eps ", options.eps,
      ", momentum ", options.momentum);
  weight_ = &add_parameter("weight", {options.channels}, ParameterRole::norm_weight);
  bias_ = &add_parameter("bias", {options.channels}, ParameterRole::norm_bias);
  weight_->value.fill(1.0f);
  running_mean_ = Tensor::zeros({options.channels});
  running_var_ = Tensor::full({options.channels}, 1.0f);
  add_buffer("running_mean", &running_mean_);
  add_buffer("running_var", &running_var_);
  add_counter("num_batches_tracked", &num_batches_tracked_);
}

std::string BatchNorm2d::describe() const {
  return str("BatchNorm2d(", options_.channels, options_.relu ? ") + ReLU" : ")");
}

Shape BatchNorm2d::output_shape(const Shape& input) const {
  SOMBRERO_CHECK(input.rank() == 4 && input[3] == options_.channels, describe(),
                 ": expects an NHWC input with ", options_.channels, " channels, got ",
                 to_string(input));
  return input;
}

double BatchNorm2d::forward_flops(const Shape& input) const {
  // A scale and a shift per element, and the ReLU's max.
  return (options_.relu ? 3.0 : 2.0) * double(output_shape(input).numel());
}

Tensor BatchNorm2d::forward(const Context& ctx, const Tensor& x) {
  check_input(x, 4, describe());
  output_shape(x.shape());
  const kernels::BatchNormShape s{x.numel() / options_.channels, options_.channels};
  Tensor y = Tensor::empty(x.shape());
  if (ctx.training) {
    SOMBRERO_CHECK(s.rows > 1, describe(),
                   ": training needs more than one value per channel (input ", to_string(x.shape()),
                   "), as PyTorch");
    save_mean_ = Tensor::empty({options_.channels});
    save_invstd_ = Tensor::empty({options_.channels});
    kernels::cpu::batch_norm_forward_training(
        s, x.data<float>(), weight_->value.data<float>(), bias_->value.data<float>(), options_.eps,
        options_.momentum, y.data<float>(), running_mean_.data<float>(), running_var_.data<float>(),
        save_mean_.data<float>(), save_invstd_.data<float>(), options_.relu);
    ++num_batches_tracked_;
    cached_input_ = x;
    cached_output_ = options_.relu ? y : Tensor();
  } else {
    kernels::cpu::batch_norm_forward_inference(
        s, x.data<float>(), weight_->value.data<float>(), bias_->value.data<float>(),
        running_mean_.data<float>(), running_var_.data<float>(), options_.eps, y.data<float>(),
        options_.relu);
    cached_input_ = Tensor();
    cached_output_ = Tensor();
  }
  return y;
}

Tensor BatchNorm2d::backward(const Context&, const Tensor& dy) {
  check_cached(cached_input_, describe());
  SOMBRERO_CHECK(dy.shape() == cached_input_.shape(), describe(), ": output gradient has shape ",
                 to_string(dy.shape()), ", expected ", to_string(cached_input_.shape()));
  const kernels::BatchNormShape s{dy.numel() / options_.channels, options_.channels};
  Tensor dx = Tensor::empty(dy.shape());
  kernels::cpu::batch_norm_backward_training(
      s, cached_input_.data<float>(), dy.data<float>(), weight_->value.data<float>(),
      save_mean_.data<float>(), save_invstd_.data<float>(), dx.data<float>(),
      weight_->grad.data<float>(), bias_->grad.data<float>(),
      options_.relu ? cached_output_.data<float>() : nullptr);
  cached_input_ = Tensor();
  cached_output_ = Tensor();
  return dx;
}

}  // namespace sombrero::layers
