#include "layers/batch_norm2d.h"

#include <cstdint>

#include "layers/ops/batch_norm_ops.h"
#include "layers/ops/pointwise_ops.h"
#include "layers/sync_batch_norm.h"
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
  return run_forward(ctx, x, nullptr);
}

Tensor BatchNorm2d::forward_add_relu(const Context& ctx, const Tensor& x, const Tensor& residual) {
  SOMBRERO_CHECK(!options_.relu, describe(),
                 ": forward_add_relu needs a BatchNorm without its own ReLU");
  SOMBRERO_CHECK(residual.defined() && residual.shape() == x.shape() &&
                     residual.dtype() == x.dtype() && residual.device() == x.device(),
                 describe(), ": the residual must match the input ", to_string(x.shape()));
  return run_forward(ctx, x, &residual);
}

// y = bn(x), then max(y, 0) with options_.relu; with a residual, max(bn(x) + residual, 0).
Tensor BatchNorm2d::run_forward(const Context& ctx, const Tensor& x, const Tensor* residual) {
  check_input(x, 4, describe());
  output_shape(x.shape());
  const bool relu = options_.relu || residual != nullptr;
  const std::int64_t rows = x.numel() / options_.channels;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (ctx.training) {
    SOMBRERO_CHECK(rows > 1, describe(), ": training needs more than one value per channel (input ",
                   to_string(x.shape()), "), as PyTorch");
    save_mean_ = Tensor::empty({options_.channels}, runtime::DType::f32, x.device());
    save_invstd_ = Tensor::empty({options_.channels}, runtime::DType::f32, x.device());
    sync_ = ctx.batch_norm_sync != nullptr && ctx.batch_norm_sync->size() > 1 ? ctx.batch_norm_sync
                                                                              : nullptr;
    // The coefficients are kept where y = max(x scale + shift, 0) (gradient_sums_inputs).
    Tensor* affine = options_.relu && residual == nullptr ? &affine_ : nullptr;
    if (affine == nullptr) affine_ = Tensor();
    const bool precomputed = offered_statistics_.defined() &&
                             offered_for_.raw_data() == x.raw_data() &&
                             offered_for_.shape() == x.shape() && offered_for_.dtype() == x.dtype();
    if (sync_ != nullptr) {
      sync_batch_norm_forward(*sync_, {options_.eps, options_.momentum, options_.relu}, x,
                              weight_->value, bias_->value, y, running_mean_, running_var_,
                              save_mean_, save_invstd_);
      if (residual != nullptr) {  // not fused across ranks: the sum and ReLU in two passes
        ops::add_inplace(*residual, y);
        ops::relu_forward(y, y);
      }
      affine_ = Tensor();
    } else if (precomputed) {
      ops::batch_norm_forward_training_from_statistics(
          x, offered_statistics_, offered_tile_rows_, weight_->value, bias_->value, options_.eps,
          options_.momentum, y, running_mean_, running_var_, save_mean_, save_invstd_, relu,
          residual, affine);
    } else {
      ops::batch_norm_forward_training(x, weight_->value, bias_->value, options_.eps,
                                       options_.momentum, y, running_mean_, running_var_,
                                       save_mean_, save_invstd_, relu, residual, affine);
    }
    used_offered_statistics_ = precomputed && sync_ == nullptr;
    offered_for_ = offered_statistics_ = Tensor();
    offered_gradient_ = offered_gradient_partials_ = Tensor();  // sums are for one backward
    ++num_batches_tracked_;
    cached_input_ = x;
    cached_output_ = relu ? y : Tensor();  // the ReLU's output: its own, or the block's
  } else {
    ops::batch_norm_forward_inference(x, weight_->value, bias_->value, running_mean_, running_var_,
                                      options_.eps, y, relu, residual);
    cached_input_ = Tensor();
    cached_output_ = Tensor();
    affine_ = Tensor();
  }
  return y;
}

void BatchNorm2d::offer_statistics(const Tensor& produced, Tensor statistics, int tile_rows) {
  offered_for_ = produced;
  offered_statistics_ = std::move(statistics);
  offered_tile_rows_ = tile_rows;
}

bool BatchNorm2d::gradient_sums_inputs(const Tensor& consumer_input, const Tensor** input,
                                       const Tensor** mean, const Tensor** affine) const {
  if (sync_ != nullptr || !cached_input_.defined() || !cached_output_.defined() ||
      cached_output_.raw_data() != consumer_input.raw_data() ||
      cached_output_.shape() != consumer_input.shape() ||
      cached_output_.dtype() != consumer_input.dtype())
    return false;
  *input = &cached_input_;
  *mean = &save_mean_;
  *affine = affine_.defined() ? &affine_ : nullptr;
  return true;
}

bool BatchNorm2d::has_gradient_sums_for(const Tensor& dy) const {
  return offered_gradient_partials_.defined() && sync_ == nullptr &&
         offered_gradient_.raw_data() == dy.raw_data() && offered_gradient_.shape() == dy.shape() &&
         offered_gradient_.dtype() == dy.dtype();
}

void BatchNorm2d::offer_gradient_sums(const Tensor& gradient, Tensor partials, std::int64_t tiles) {
  offered_gradient_ = gradient;
  offered_gradient_partials_ = std::move(partials);
  offered_gradient_tiles_ = tiles;
}

Tensor BatchNorm2d::backward_through_relu(const Context& ctx, const Tensor& dy,
                                          const Tensor& relu_output, Tensor& masked_gradient) {
  SOMBRERO_CHECK(!options_.relu, describe(),
                 ": backward_through_relu is for a BatchNorm without its own ReLU");
  check_cached(cached_input_, describe());
  SOMBRERO_CHECK(dy.shape() == cached_input_.shape() && relu_output.shape() == dy.shape(),
                 describe(), ": output gradient ", to_string(dy.shape()), " and ReLU output ",
                 to_string(relu_output.shape()), " must both have shape ",
                 to_string(cached_input_.shape()));
  if (has_gradient_sums_for(dy) && relu_output.raw_data() == cached_output_.raw_data()) {
    // The next block's first convolution wrote dy (adding its input gradient to the
    // shortcut's) already masked by this ReLU, and summed it: dy is the masked gradient.
    masked_gradient = dy;
    return backward(ctx, dy);  // from the offered sums
  }
  masked_gradient = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  if (sync_ != nullptr) {  // SyncBatchNorm's backward takes the masked gradient itself
    ops::relu_backward(relu_output, dy, masked_gradient);
    return backward(ctx, masked_gradient);
  }
  Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  ops::batch_norm_backward_training(cached_input_, dy, weight_->value, save_mean_, save_invstd_, dx,
                                    weight_->grad, bias_->grad, &relu_output, &masked_gradient);
  used_offered_gradient_sums_ = false;
  offered_gradient_ = offered_gradient_partials_ = Tensor();
  cached_input_ = Tensor();
  cached_output_ = Tensor();
  return dx;
}

Tensor BatchNorm2d::backward(const Context&, const Tensor& dy) {
  check_cached(cached_input_, describe());
  SOMBRERO_CHECK(dy.shape() == cached_input_.shape(), describe(), ": output gradient has shape ",
                 to_string(dy.shape()), ", expected ", to_string(cached_input_.shape()));
  Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  // Sums a convolution computed for this very gradient (already masked by the ReLU).
  const bool precomputed = has_gradient_sums_for(dy);
  used_offered_gradient_sums_ = precomputed;
  if (precomputed)
    ops::batch_norm_backward_training_from_partials(
        cached_input_, dy, offered_gradient_partials_, offered_gradient_tiles_, weight_->value,
        save_mean_, save_invstd_, dx, weight_->grad, bias_->grad);
  else if (sync_ != nullptr)
    sync_batch_norm_backward(*sync_, {options_.eps, options_.momentum, options_.relu},
                             cached_input_, cached_output_, dy, weight_->value, save_mean_,
                             save_invstd_, dx, weight_->grad, bias_->grad);
  else
    ops::batch_norm_backward_training(cached_input_, dy, weight_->value, save_mean_, save_invstd_,
                                      dx, weight_->grad, bias_->grad,
                                      options_.relu ? &cached_output_ : nullptr);
  // (Without its own ReLU, cached_output_ is a residual block's output, whose ReLU the
  // caller's backward_through_relu takes care of.)
  offered_gradient_ = offered_gradient_partials_ = Tensor();
  cached_input_ = Tensor();
  cached_output_ = Tensor();
  return dx;
}

}  // namespace sombrero::layers
