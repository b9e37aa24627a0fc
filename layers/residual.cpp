#include "layers/residual.h"

#include "layers/ops/pointwise_ops.h"
#include "runtime/error.h"

namespace sombrero::layers {

Tensor Add::forward(const Tensor& a, const Tensor& b) {
  SOMBRERO_CHECK(a.shape() == b.shape(), "Add: shapes differ: ", to_string(a.shape()), " and ",
                 to_string(b.shape()));
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  ops::add(a, b, y);
  return y;
}

// ---------------------------------------------------------------------------- ShortcutA

ShortcutA::ShortcutA(int in_channels, int out_channels, int stride)
    : Layer("ShortcutA"), in_channels_(in_channels), out_channels_(out_channels), stride_(stride) {
  SOMBRERO_CHECK(
      out_channels >= in_channels && (out_channels - in_channels) % 2 == 0 && stride >= 1,
      "ShortcutA: needs out channels >= in channels with an even difference, got ", in_channels,
      " -> ", out_channels);
}

std::string ShortcutA::describe() const {
  return str("ShortcutA(", in_channels_, " -> ", out_channels_, ", stride ", stride_, ")");
}

Shape ShortcutA::output_shape(const Shape& input) const {
  SOMBRERO_CHECK(input.rank() == 4 && input[3] == in_channels_, describe(), ": bad input shape ",
                 to_string(input));
  return {input[0], (input[1] + stride_ - 1) / stride_, (input[2] + stride_ - 1) / stride_,
          out_channels_};
}

namespace {
kernels::ChannelPadShape channel_pad_shape(const Shape& input, int out_channels, int stride) {
  return {int(input[0]), int(input[1]), int(input[2]), int(input[3]), out_channels, stride};
}
}  // namespace

Tensor ShortcutA::forward(const Context&, const Tensor& x) {
  check_input(x, 4, describe());
  Tensor y = Tensor::empty(output_shape(x.shape()), x.dtype(), x.device());
  ops::channel_pad_subsample_forward(channel_pad_shape(x.shape(), out_channels_, stride_), x, y);
  cached_input_shape_ = x.shape();
  return y;
}

Tensor ShortcutA::backward(const Context&, const Tensor& dy) {
  const Shape& in = cached_input_shape_;
  SOMBRERO_CHECK(in.rank() == 4 && dy.shape() == output_shape(in), describe(),
                 ": backward without a matching forward");
  Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
  ops::channel_pad_subsample_backward(channel_pad_shape(in, out_channels_, stride_), dy, dx);
  return dx;
}

// ------------------------------------------------------------------------- ResidualBlock

ResidualBlock::ResidualBlock(std::string type, const BlockOptions& options, int out_channels)
    : Layer(std::move(type)), options_(options), out_channels_(out_channels) {}

Conv2d& ResidualBlock::add_conv(const std::string& name, int in, int out, int kernel, int stride) {
  Conv2d& conv = add_child(
      name, std::make_unique<Conv2d>(Conv2dOptions{in, out, kernel, stride, kernel / 2, false}));
  branch_.push_back(&conv);
  return conv;
}

BatchNorm2d& ResidualBlock::add_bn(const std::string& name, int channels, bool relu) {
  BatchNorm2d& bn = add_child(name, std::make_unique<BatchNorm2d>(BatchNorm2dOptions{
                                        channels, options_.bn_eps, options_.bn_momentum, relu}));
  branch_.push_back(&bn);
  return bn;
}

void ResidualBlock::add_shortcut() {
  if (options_.stride == 1 && options_.in_channels == out_channels_) return;
  if (options_.shortcut == ShortcutKind::A) {
    shortcut_ = &add_child("shortcut", std::make_unique<ShortcutA>(options_.in_channels,
                                                                   out_channels_, options_.stride));
    return;
  }
  auto downsample = std::make_unique<Sequential>();
  downsample->add(std::make_unique<Conv2d>(
      Conv2dOptions{options_.in_channels, out_channels_, 1, options_.stride, 0, false}));
  downsample->add(std::make_unique<BatchNorm2d>(
      BatchNorm2dOptions{out_channels_, options_.bn_eps, options_.bn_momentum}));
  shortcut_ = &add_child("downsample", std::move(downsample));
}

Shape ResidualBlock::output_shape(const Shape& input) const {
  Shape shape = input;
  for (const Layer* layer : branch_) shape = layer->output_shape(shape);
  const Shape shortcut = shortcut_ != nullptr ? shortcut_->output_shape(input) : input;
  SOMBRERO_CHECK(shape == shortcut, describe(), ": branch output ", to_string(shape),
                 " and shortcut ", to_string(shortcut), " differ for input ", to_string(input));
  return shape;
}

double ResidualBlock::forward_flops(const Shape& input) const {
  double flops = 0.0;
  Shape shape = input;
  for (const Layer* layer : branch_) {
    flops += layer->forward_flops(shape);
    shape = layer->output_shape(shape);
  }
  if (shortcut_ != nullptr) flops += shortcut_->forward_flops(input);
  return flops + 2.0 * double(shape.numel());  // the sum and the final ReLU
}

// The branch up to its last BatchNorm, the shortcut, then that BatchNorm, the sum and the
// final ReLU in one pass (BatchNorm2d::forward_add_relu; the ReLU adopts its output for
// backward): on a device, three reads/writes of the block's output size instead of seven.
Tensor ResidualBlock::forward(const Context& ctx, const Tensor& x) {
  Tensor out = x;
  for (std::size_t i = 0; i + 1 < branch_.size(); ++i) out = branch_[i]->forward(ctx, out);
  const Tensor identity = shortcut_ != nullptr ? shortcut_->forward(ctx, x) : x;
  BatchNorm2d& last = last_batch_norm();  // every block ends in one
  const Tensor y = last.forward_add_relu(ctx, out, identity);
  relu_out_.adopt_output(ctx, y);
  return y;
}

// The final ReLU's backward happens inside the last BatchNorm's (backward_through_relu),
// which also writes the masked gradient g that the shortcut takes: one pass over the block's
// output and a launch fewer than a ReLU backward of its own. Then the shortcut's input
// gradient; the branch's first convolution adds its own into it in its backward-data
// epilogue (Conv2d::backward_adding_to) instead of a separate sum. For an identity shortcut
// that gradient is g itself, which the branch has finished reading by then (stream order).
// Where the block before this one ends in a linked BatchNorm (link_conv_batch_norm_pairs),
// that epilogue also masks the sum by the previous block's ReLU and computes its last
// BatchNorm's backward sums; its backward_through_relu then takes dx as its masked gradient.
Tensor ResidualBlock::backward(const Context& ctx, const Tensor& dy) {
  const Tensor y = relu_out_.take_output(dy.shape());
  BatchNorm2d& last = last_batch_norm();
  Tensor g;
  Tensor d = last.backward_through_relu(ctx, dy, y, g);
  Tensor dx = shortcut_ != nullptr ? shortcut_->backward(ctx, g) : g;
  for (std::size_t i = branch_.size() - 1; i-- > 1;) d = branch_[i]->backward(ctx, d);
  first_conv().backward_adding_to(ctx, d, dx);  // blocks start so
  return dx;
}

// ---------------------------------------------------------------------------- the blocks

BasicBlock::BasicBlock(const BlockOptions& o) : ResidualBlock("BasicBlock", o, o.planes) {
  add_conv("conv1", o.in_channels, o.planes, 3, o.stride);
  add_bn("bn1", o.planes, /*relu=*/true);
  add_conv("conv2", o.planes, o.planes, 3, 1);
  BatchNorm2d& last = add_bn("bn2", o.planes);
  if (o.zero_init_residual) last.weight().value.fill(0.0f);
  add_shortcut();
}

std::string BasicBlock::describe() const {
  return str("BasicBlock(", options_.in_channels, " -> ", out_channels_, ", stride ",
             options_.stride, shortcut_ == nullptr ? ")" : ", projection)");
}

Bottleneck::Bottleneck(const BlockOptions& o)
    : ResidualBlock("Bottleneck", o, o.planes * expansion) {
  add_conv("conv1", o.in_channels, o.planes, 1, 1);
  add_bn("bn1", o.planes, /*relu=*/true);
  add_conv("conv2", o.planes, o.planes, 3, o.stride);
  add_bn("bn2", o.planes, /*relu=*/true);
  add_conv("conv3", o.planes, o.planes * expansion, 1, 1);
  BatchNorm2d& last = add_bn("bn3", o.planes * expansion);
  if (o.zero_init_residual) last.weight().value.fill(0.0f);
  add_shortcut();
}

std::string Bottleneck::describe() const {
  return str("Bottleneck(", options_.in_channels, " -> ", out_channels_, ", stride ",
             options_.stride, shortcut_ == nullptr ? ")" : ", projection)");
}

}  // namespace sombrero::layers
