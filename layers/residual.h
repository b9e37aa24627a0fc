// Residual blocks as torchvision builds them (torchvision/models/resnet.py), with the same
// child names, so parameter names match torchvision's state_dict keys:
//   BasicBlock:  conv1 (3x3, stride) bn1 relu conv2 (3x3) bn2 (+ shortcut) relu
//   Bottleneck:  conv1 (1x1) bn1 relu conv2 (3x3, stride: "ResNet v1.5") bn2 relu
//                conv3 (1x1, planes * 4) bn3 (+ shortcut) relu
//   shortcut:    identity, or "downsample" = Sequential(conv 1x1 stride (no bias), BN)
//                (option B) when the shape changes, or ShortcutA (option A, CIFAR ResNets of
//                He et al.: subsample by the stride and zero-pad the new channels; no
//                parameters; the channel placement of the common CIFAR implementation,
//                padding (out - in) / 2 channels on each side).
// The ReLUs inside the branch run fused into the BatchNorm before them (BatchNorm2dOptions::relu);
// the last BatchNorm, the sum and the final ReLU run as one (BatchNorm2d::forward_add_relu).
// zero_init_residual sets the last BN's weight (bn2 / bn3) to 0, as torchvision's option.
// Add: the residual sum y = a + b; its backward hands dy to both branches.
#pragma once

#include <memory>
#include <vector>

#include "layers/activation.h"
#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/sequential.h"

namespace sombrero::layers {

enum class ShortcutKind { A, B };  // A: pad/subsample, no parameters; B: 1x1 conv + BN

struct BlockOptions {
  int in_channels = 64;
  int planes = 64;  // output channels of a BasicBlock; of a Bottleneck: planes * 4
  int stride = 1;
  ShortcutKind shortcut = ShortcutKind::B;
  bool zero_init_residual = false;
  float bn_eps = 1e-5f;
  float bn_momentum = 0.1f;
};

class Add {
 public:
  static Tensor forward(const Tensor& a, const Tensor& b);
};

class ShortcutA : public Layer {
 public:
  ShortcutA(int in_channels, int out_channels, int stride);
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;

 private:
  int in_channels_, out_channels_, stride_;
  Shape cached_input_shape_;
};

// The common part of both blocks: a residual branch, a shortcut, the sum and the final ReLU.
class ResidualBlock : public Layer {
 public:
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;
  // The branch's first convolution (which takes the block's input) and last BatchNorm (whose
  // sum with the shortcut, after the ReLU, is the block's output).
  Conv2d& first_conv() const { return dynamic_cast<Conv2d&>(*branch_.front()); }
  BatchNorm2d& last_batch_norm() const { return dynamic_cast<BatchNorm2d&>(*branch_.back()); }

 protected:
  ResidualBlock(std::string type, const BlockOptions& options, int out_channels);
  // Builds the shortcut (after the branch's children, so "downsample" follows them in order).
  void add_shortcut();
  Conv2d& add_conv(const std::string& name, int in, int out, int kernel, int stride);
  BatchNorm2d& add_bn(const std::string& name, int channels, bool relu = false);

  BlockOptions options_;
  int out_channels_;
  std::vector<Layer*> branch_;  // conv/bn/relu in order
  Layer* shortcut_ = nullptr;   // null: identity
  ReLU relu_out_;
};

class BasicBlock : public ResidualBlock {
 public:
  static constexpr int expansion = 1;
  explicit BasicBlock(const BlockOptions& options);
  std::string describe() const override;
};

class Bottleneck : public ResidualBlock {
 public:
  static constexpr int expansion = 4;
  explicit Bottleneck(const BlockOptions& options);
  std::string describe() const override;
};

}  // namespace sombrero::layers
