// Pooling layers over NHWC activations (math in kernels/pool/pool.h):
//   MaxPool2d(kernel, stride, padding)   as nn.MaxPool2d (padding never wins; first max)
//   AvgPool2d(kernel, stride, padding)   as nn.AvgPool2d (count_include_pad)
//   GlobalAvgPool                        [N, H, W, C] -> [N, C] (nn.AdaptiveAvgPool2d(1) +
//                                        flatten, as torchvision's ResNet head)
#pragma once

#include <cstdint>

#include "kernels/pool/pool.h"
#include "layers/layer.h"
#include "runtime/device_array.h"

namespace sombrero::layers {

struct Pool2dOptions {
  int kernel = 2;
  int stride = 2;
  int padding = 0;
};

class MaxPool2d : public Layer {
 public:
  explicit MaxPool2d(const Pool2dOptions& options) : Layer("MaxPool2d"), options_(options) {}
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;

 private:
  Pool2dOptions options_;
  Shape cached_input_shape_;
  runtime::DeviceArray<kernels::PoolArgmax> argmax_;  // on the activations' device; empty: no cache
};

class AvgPool2d : public Layer {
 public:
  explicit AvgPool2d(const Pool2dOptions& options) : Layer("AvgPool2d"), options_(options) {}
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;

 private:
  Pool2dOptions options_;
  Shape cached_input_shape_;
  bool cached_ = false;
};

class GlobalAvgPool : public Layer {
 public:
  GlobalAvgPool() : Layer("GlobalAvgPool") {}
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override { return double(input.numel()); }
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;

 private:
  Shape cached_input_shape_;
  bool cached_ = false;
};

// The pool geometry of an NHWC input shape (checked).
kernels::Pool2dShape pool2d_shape(const Shape& input, const Pool2dOptions& options);

}  // namespace sombrero::layers
