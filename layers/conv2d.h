// Conv2d: a 2-D convolution over NHWC activations with KRSC weights [out, kh, kw, in] and an
// optional bias, as PyTorch's nn.Conv2d (groups 1, dilation 1, symmetric zero padding).
// Parameters: "weight" (OIHW on disk), "bias" when enabled. Default initialisation is
// PyTorch's (uniform +-1/sqrt(fan_in)); the model zoo re-initialises as torchvision does.
// With bf16 activations the convolution runs on a bf16 copy of the f32 master weight; the
// weight gradient stays f32. On a device with the hand-written kernels, an input whose
// channels are not a whole 16-byte vector (the RGB stem: 3) is zero-padded to one (4 f32 /
// 8 bf16 channels), input and weight alike, so the kernels take their vectorized cp.async
// path instead of one predicated load per element; the padded channels add exact zeros.
#pragma once

#include "kernels/conv/conv2d_shape.h"
#include "layers/batch_norm2d.h"
#include "layers/compute_weights.h"
#include "layers/layer.h"

namespace sombrero::layers {

struct Conv2dOptions {
  int in_channels = 1;
  int out_channels = 1;
  int kernel = 1;  // square kernel
  int stride = 1;
  int padding = 0;
  bool bias = false;
};

class Conv2d : public Layer, public ComputeWeightUser {
 public:
  explicit Conv2d(const Conv2dOptions& options);

  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;
  // backward, with the input gradient added to `input_grad` (dL/dx of the same shape, e.g. a
  // residual block's shortcut gradient) instead of returned: in the kernel's epilogue on a
  // device, one pass less each way than a separate add.
  void backward_adding_to(const Context& ctx, const Tensor& dy, Tensor& input_grad);

  const Conv2dOptions& options() const { return options_; }
  Parameter& weight() { return *weight_; }
  const Parameter& master_weight() const override { return *weight_; }
  Parameter* bias() { return bias_; }
  // The first layer of a network need not compute the gradient of the images: backward
  // then returns an undefined tensor.
  void set_input_grad_needed(bool needed) { input_grad_needed_ = needed; }
  // The BatchNorm2d that normalises this convolution's output: in training on a device (bf16,
  // hand-written kernels, no bias) the forward's epilogue computes its batch statistics and
  // offers them (BatchNorm2d::offer_statistics), saving it two passes over the output.
  void feed_statistics_to(BatchNorm2d* batch_norm) { statistics_consumer_ = batch_norm; }
  // The BatchNorm2d (with its fused ReLU) whose output is this convolution's input: in
  // training on a device (bf16, hand-written kernels) the backward-data epilogue masks the
  // input gradient by that ReLU and computes the BatchNorm's backward sums
  // (BatchNorm2d::offer_gradient_sums), saving it a pass over its input, gradient and output.
  void take_gradient_sums_for(BatchNorm2d* batch_norm) { gradient_sums_consumer_ = batch_norm; }

 private:
  kernels::Conv2dShape conv_shape(const Shape& input) const;
  // Channels the kernels see for x: in_channels, or that rounded up to a 16-byte vector.
  int kernel_channels(const Context& ctx, const Tensor& x) const;
  // backward's work; the input gradient returned, or added to *input_grad when given.
  Tensor run_backward(const Context& ctx, const Tensor& dy, Tensor* input_grad);
  // dx (or dx += the input gradient, accumulate) through conv2d_backward_data_with_batch_norm
  // for gradient_sums_consumer_, offering it the sums; false (nothing done) where that fusion
  // does not apply.
  bool backward_data_with_batch_norm(const Context& ctx, const kernels::Conv2dShape& s,
                                     const Tensor& dy, const Tensor& w, Tensor& dx,
                                     bool accumulate);

  Conv2dOptions options_;
  Parameter* weight_ = nullptr;
  Parameter* bias_ = nullptr;
  bool input_grad_needed_ = true;
  BatchNorm2d* statistics_consumer_ = nullptr;
  BatchNorm2d* gradient_sums_consumer_ = nullptr;
  Tensor cached_input_;   // as the kernels saw it (channel-padded when it was)
  Tensor cached_weight_;  // the weight the kernels saw when not the f32 master (bf16, padded)
};

}  // namespace sombrero::layers
