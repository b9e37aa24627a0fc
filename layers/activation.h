// ReLU: y = max(x, 0); backward passes dy where y > 0. Caches its output in training mode.
#pragma once

#include "layers/layer.h"

namespace sombrero::layers {

class ReLU : public Layer {
 public:
  ReLU() : Layer("ReLU") {}
  Shape output_shape(const Shape& input) const override { return input; }
  double forward_flops(const Shape& input) const override { return double(input.numel()); }
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;
  // Takes y, computed by a kernel that fused this ReLU (BatchNorm2d::forward_add_relu), as the
  // output of a forward: backward then masks by it.
  void adopt_output(const Context& ctx, const Tensor& y);
  // The output cached by the last training forward, handed over (and forgotten) for the
  // backward of a gradient of `gradient_shape`: this ReLU's own, or a caller's that applies it
  // itself (ResidualBlock, through its last BatchNorm: BatchNorm2d::backward_through_relu).
  Tensor take_output(const Shape& gradient_shape);

 private:
  Tensor cached_output_;
};

}  // namespace sombrero::layers
