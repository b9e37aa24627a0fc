// Conv2d: a 2-D convolution over NHWC activations with KRSC weights [out, kh, kw, in] and an
// optional bias, as PyTorch's nn.Conv2d (groups 1, dilation 1, symmetric zero padding).
// Parameters: "weight" (OIHW on disk), "bias" when enabled. Default initialisation is
// PyTorch's (uniform +-1/sqrt(fan_in)); the model zoo re-initialises as torchvision does.
// With bf16 activations the convolution runs on a bf16 copy of the f32 master weight; the
// weight gradient stays f32.
#pragma once

#include "kernels/conv/conv2d_shape.h"
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

class Conv2d : public Layer {
 public:
  explicit Conv2d(const Conv2dOptions& options);

  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;

  const Conv2dOptions& options() const { return options_; }
  Parameter& weight() { return *weight_; }
  Parameter* bias() { return bias_; }
  // The first layer of a network need not compute the gradient of the images: backward
  // then returns an undefined tensor.
  void set_input_grad_needed(bool needed) { input_grad_needed_ = needed; }

 private:
  kernels::Conv2dShape conv_shape(const Shape& input) const;

  Conv2dOptions options_;
  Parameter* weight_ = nullptr;
  Parameter* bias_ = nullptr;
  bool input_grad_needed_ = true;
  Tensor cached_input_;
  Tensor cached_weight_bf16_;  // bf16 activations: the rounded weight, kept for backward-data
};

}  // namespace sombrero::layers
