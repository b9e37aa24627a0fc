#include "layers/conv2d.h"

#include <cmath>

#include "layers/ops/conv2d_ops.h"
#include "layers/ops/pointwise_ops.h"
#include "runtime/error.h"

namespace sombrero::layers {

Conv2d::Conv2d(const Conv2dOptions& options) : Layer("Conv2d"), options_(options) {
  SOMBRERO_CHECK(options.in_channels > 0 && options.out_channels > 0 && options.kernel > 0 &&
                     options.stride > 0 && options.padding >= 0,
                 "Conv2d: invalid options ", options.in_channels, " -> ", options.out_channels,
                 ", kernel ", options.kernel, ", stride ", options.stride, ", padding ",
                 options.padding);
  weight_ = &add_parameter(
      "weight", {options.out_channels, options.kernel, options.kernel, options.in_channels},
      ParameterRole::weight, DiskLayout::krsc_as_oihw);
  if (options.bias) bias_ = &add_parameter("bias", {options.out_channels}, ParameterRole::bias);
  // PyTorch's default: kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  runtime::Generator generator(0);
  const float bound =
      1.0f / std::sqrt(float(options.in_channels * options.kernel * options.kernel));
  weight_->value.fill_uniform(generator, -bound, bound);
  if (bias_ != nullptr) bias_->value.fill_uniform(generator, -bound, bound);
}

std::string Conv2d::describe() const {
  return str("Conv2d(", options_.in_channels, " -> ", options_.out_channels, ", ", options_.kernel,
             "x", options_.kernel, ", stride ", options_.stride, ", pad ", options_.padding,
             options_.bias ? ", bias)" : ")");
}

kernels::Conv2dShape Conv2d::conv_shape(const Shape& input) const {
  SOMBRERO_CHECK(input.rank() == 4, "Conv2d: expects an NHWC input, got ", to_string(input));
  SOMBRERO_CHECK(input[3] == options_.in_channels, describe(), ": input has ", input[3],
                 " channels, expected ", options_.in_channels, " (input ", to_string(input), ")");
  kernels::Conv2dShape s;
  s.batch = int(input[0]);
  s.in_height = int(input[1]);
  s.in_width = int(input[2]);
  s.in_channels = options_.in_channels;
  s.out_channels = options_.out_channels;
  s.kernel_h = s.kernel_w = options_.kernel;
  s.stride_h = s.stride_w = options_.stride;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = options_.padding;
  kernels::check_conv2d_shape(s);
  return s;
}

Shape Conv2d::output_shape(const Shape& input) const {
  const kernels::Conv2dShape s = conv_shape(input);
  return {s.batch, s.out_height(), s.out_width(), s.out_channels};
}

double Conv2d::forward_flops(const Shape& input) const {
  const kernels::Conv2dShape s = conv_shape(input);
  return 2.0 * s.macs() + (options_.bias ? double(s.output_elements()) : 0.0);
}

int Conv2d::kernel_channels(const Context& ctx, const Tensor& x) const {
  const int channels = options_.in_channels;
  if (x.device().is_cpu() || !kernels::is_hand_written(ctx.conv_algo)) return channels;
  const int vector = 16 / int(runtime::dtype_size(x.dtype()));
  return (channels + vector - 1) / vector * vector;
}

namespace {

// [n, h, w, channels] -> [n, h, w, padded]: the channels first, zeros after (or back).
kernels::ChannelPadShape channel_padding(const Shape& s, int channels, int padded) {
  return {int(s[0]), int(s[1]), int(s[2]), channels, padded, 1, 0};
}

Tensor pad_channels(const Tensor& t, int padded) {
  const Shape& s = t.shape();
  Tensor out = Tensor::empty({s[0], s[1], s[2], padded}, t.dtype(), t.device());
  ops::channel_pad_subsample_forward(channel_padding(s, int(s[3]), padded), t, out);
  return out;
}

Tensor unpad_channels(const Tensor& t, int channels) {
  const Shape& s = t.shape();
  Tensor out = Tensor::empty({s[0], s[1], s[2], channels}, t.dtype(), t.device());
  ops::channel_pad_subsample_backward(channel_padding(out.shape(), channels, int(s[3])), t, out);
  return out;
}

}  // namespace

Tensor Conv2d::forward(const Context& ctx, const Tensor& x) {
  check_input(x, 4, describe());
  kernels::Conv2dShape s = conv_shape(x.shape());
  Tensor y = Tensor::empty({s.batch, s.out_height(), s.out_width(), s.out_channels}, x.dtype(),
                           x.device());
  // The kernels take w in the activations' dtype: bf16 rounds the f32 master weight (the copy
  // Model::forward converted with every other layer's, when it offered one).
  Tensor w = compute_weight(x.dtype());
  Tensor input = x;
  const int channels = kernel_channels(ctx, x);
  if (channels != s.in_channels) {
    input = pad_channels(x, channels);
    w = pad_channels(w, channels);
    s.in_channels = channels;
  }
  Tensor statistics;
  int tile_rows = 0;
  const bool fused =
      statistics_consumer_ != nullptr && ctx.training && bias_ == nullptr &&
      ops::conv2d_forward_with_statistics(ctx, s, input, w, y, statistics, tile_rows);
  if (!fused) ops::conv2d_forward(ctx, s, input, w, y);
  if (bias_ != nullptr) ops::bias_add(bias_->value, y);
  if (fused) statistics_consumer_->offer_statistics(y, std::move(statistics), tile_rows);
  cached_input_ = ctx.training ? input : Tensor();
  cached_weight_ = ctx.training && w.raw_data() != weight_->value.raw_data() ? w : Tensor();
  return y;
}

Tensor Conv2d::backward(const Context& ctx, const Tensor& dy) {
  return run_backward(ctx, dy, nullptr);
}

void Conv2d::backward_adding_to(const Context& ctx, const Tensor& dy, Tensor& input_grad) {
  SOMBRERO_CHECK(input_grad_needed_, describe(),
                 ": backward_adding_to on a layer that computes no input gradient");
  run_backward(ctx, dy, &input_grad);
}

Tensor Conv2d::run_backward(const Context& ctx, const Tensor& dy, Tensor* input_grad) {
  check_cached(cached_input_, describe());
  const Shape& input = cached_input_.shape();
  const int channels = int(input[3]);  // > in_channels when the forward padded them
  kernels::Conv2dShape s = conv_shape({input[0], input[1], input[2], options_.in_channels});
  SOMBRERO_CHECK(dy.shape() == output_shape({input[0], input[1], input[2], options_.in_channels}),
                 describe(), ": output gradient has shape ", to_string(dy.shape()));
  s.in_channels = channels;
  if (channels == options_.in_channels) {
    ops::conv2d_backward_filter_accumulate(ctx, s, cached_input_, dy, weight_->grad);
  } else {
    Tensor padded_grad = Tensor::zeros({s.out_channels, s.kernel_h, s.kernel_w, channels},
                                       runtime::DType::f32, dy.device());
    ops::conv2d_backward_filter_accumulate(ctx, s, cached_input_, dy, padded_grad);
    ops::add_inplace(unpad_channels(padded_grad, options_.in_channels), weight_->grad);
  }
  if (bias_ != nullptr) ops::bias_backward(dy, bias_->grad);
  Tensor dx;
  const Tensor& w = cached_weight_.defined() ? cached_weight_ : weight_->value;
  if (input_grad != nullptr && channels == options_.in_channels) {
    SOMBRERO_CHECK(input_grad->shape() == input && input_grad->dtype() == dy.dtype() &&
                       input_grad->device() == dy.device(),
                   describe(), ": the input gradient to add to is ", to_string(input_grad->shape()),
                   ", expected ", to_string(input), " like the input");
    if (!backward_data_with_batch_norm(ctx, s, dy, w, *input_grad, /*accumulate=*/true))
      ops::conv2d_backward_data_accumulate(ctx, s, dy, w, *input_grad);
  } else if (input_grad_needed_) {
    dx = Tensor::empty(input, dy.dtype(), dy.device());
    const bool fused = input_grad == nullptr && channels == options_.in_channels &&
                       backward_data_with_batch_norm(ctx, s, dy, w, dx, /*accumulate=*/false);
    if (!fused) ops::conv2d_backward_data(ctx, s, dy, w, dx);
    if (channels != options_.in_channels) dx = unpad_channels(dx, options_.in_channels);
    if (input_grad != nullptr) {  // channel-padded input: added after unpadding
      ops::add_inplace(dx, *input_grad);
      dx = Tensor();
    }
  }
  cached_input_ = Tensor();
  cached_weight_ = Tensor();
  return dx;
}

bool Conv2d::backward_data_with_batch_norm(const Context& ctx, const kernels::Conv2dShape& s,
                                           const Tensor& dy, const Tensor& w, Tensor& dx,
                                           bool accumulate) {
  const Tensor* bn_input = nullptr;
  const Tensor* bn_mean = nullptr;
  const Tensor* bn_affine = nullptr;
  if (gradient_sums_consumer_ == nullptr || !ctx.fuse_batch_norm_backward ||
      !gradient_sums_consumer_->gradient_sums_inputs(cached_input_, &bn_input, &bn_mean,
                                                     &bn_affine))
    return false;
  Tensor partials;
  std::int64_t tiles = 0;
  if (!ops::conv2d_backward_data_with_batch_norm(ctx, s, dy, w, dx, cached_input_, *bn_input,
                                                 *bn_mean, partials, tiles, accumulate,
                                                 ctx.recompute_relu_mask ? bn_affine : nullptr))
    return false;
  gradient_sums_consumer_->offer_gradient_sums(dx, std::move(partials), tiles);
  return true;
}

}  // namespace sombrero::layers
