// A BatchNorm2d (+ ReLU) feeding a Conv2d, at the layer level (simt, bf16 training): linked
// (link_conv_batch_norm_pairs), the convolution's backward-data epilogue masks the gradient by
// the ReLU and computes the BatchNorm's backward sums, and the BatchNorm uses them. The step
// agrees with the same layers linked only forward (the forward is the same, so y is bit for
// bit): the BatchNorm's sums differ by f32 summation order only, so its parameter gradients
// agree to 1e-5; its dx may differ by one bf16 rounding in a few elements, and the first
// convolution's gradients and the input gradient, computed from it, to 4e-3 norm-wise (a bf16
// rounding is 2^-9 relative). f32, a BatchNorm without a ReLU, or sums offered for another
// tensor fall back to the BatchNorm's own passes. Across residual blocks, the next block's
// first convolution (adding to its shortcut's gradient) does the same for the block before's
// last BatchNorm, whose sum and ReLU made its output: against the same blocks without the
// backward links, y bit for bit and every gradient to 4e-3 norm-wise.
#include <gtest/gtest.h>

#include <memory>

#include "layers/conv_batch_norm_link.h"
#include "layers/residual.h"
#include "layers/sequential.h"
#include "tests/layers/device_agreement.h"

namespace sombrero::test {
namespace {

std::unique_ptr<layers::Sequential> conv_bn_conv(int stride, bool relu) {
  auto seq = std::make_unique<layers::Sequential>();
  seq->add(std::make_unique<layers::Conv2d>(layers::Conv2dOptions{16, 24, 3, 1, 1, false}));
  seq->add(
      std::make_unique<layers::BatchNorm2d>(layers::BatchNorm2dOptions{24, 1e-5f, 0.1f, relu}));
  seq->add(std::make_unique<layers::Conv2d>(layers::Conv2dOptions{24, 16, 3, stride, 1, false}));
  return seq;
}

layers::BatchNorm2d& batch_norm_of(layers::Sequential& seq) {
  return dynamic_cast<layers::BatchNorm2d&>(seq.at(1));
}

// The forward link only (the epilogue statistics), as link_conv_batch_norm_pairs makes it.
void link_forward_only(layers::Sequential& seq) {
  dynamic_cast<layers::Conv2d&>(seq.at(0)).feed_statistics_to(&batch_norm_of(seq));
}

void expect_fused_backward_agrees(int stride, kernels::ConvAlgo algo) {
  const runtime::Shape input{2, 8, 8, 16};
  const int out = (8 + 2 - 3) / stride + 1;
  const std::vector<float> x = rounded_to_bf16(random_values(std::size_t(input.numel()), 5));
  const std::vector<float> dy = rounded_to_bf16(random_values(std::size_t(2 * out * out * 16), 6));
  auto fused = conv_bn_conv(stride, true), plain = conv_bn_conv(stride, true);
  for (layers::Sequential* seq : {fused.get(), plain.get()}) {
    initialize(*seq, 3);
    round_parameters_to_bf16(*seq);
    move_to(*seq, Device::simt());
  }
  EXPECT_EQ(layers::link_conv_batch_norm_pairs(*fused), 2);  // conv -> bn, and bn -> conv
  link_forward_only(*plain);
  const LayerRun got = run_layer(*fused, Device::simt(), DType::bf16, input, x, dy, true, algo);
  EXPECT_TRUE(batch_norm_of(*fused).used_offered_gradient_sums());
  const LayerRun want = run_layer(*plain, Device::simt(), DType::bf16, input, x, dy, true, algo);
  EXPECT_FALSE(batch_norm_of(*plain).used_offered_gradient_sums());
  EXPECT_EQ(got.y, want.y);
  ASSERT_EQ(got.grads.size(), want.grads.size());
  for (std::size_t i = 0; i < want.grads.size(); ++i) {
    const std::string& name = want.grads[i].first;
    const bool batch_norm = name.rfind("1.", 0) == 0;  // "1.weight", "1.bias"
    expect_close(name, got.grads[i].second, want.grads[i].second, batch_norm ? 1e-5 : 4e-3);
  }
  expect_close("dx", got.dx, want.dx, 4e-3);
}

TEST(BatchNormConvBackwardFusion, LinkedPairUsesEpilogueSumsAndAgreesWithOwnPasses) {
  expect_fused_backward_agrees(1, kernels::ConvAlgo::hand);
}

// Stride 2: backward-data's four phases each write their own tiles of sums.
TEST(BatchNormConvBackwardFusion, StridedConvolutionOnTheWgmmaTile) {
  expect_fused_backward_agrees(2, kernels::ConvAlgo::wgmma);
  expect_fused_backward_agrees(2, kernels::ConvAlgo::hand);
}

TEST(BatchNormConvBackwardFusion, FallsBackWhereTheEpilogueCannotServe) {
  const runtime::Shape input{2, 8, 8, 16};
  const std::vector<float> x = rounded_to_bf16(random_values(std::size_t(input.numel()), 5));
  const std::vector<float> dy = rounded_to_bf16(random_values(2 * 8 * 8 * 16, 6));
  for (const bool relu : {true, false})
    for (const DType dtype : {DType::f32, DType::bf16}) {
      if (relu && dtype == DType::bf16) continue;  // the fused case, above
      auto seq = conv_bn_conv(1, relu);
      initialize(*seq, 3);
      move_to(*seq, Device::simt());
      layers::link_conv_batch_norm_pairs(*seq);
      run_layer(*seq, Device::simt(), dtype, input, x, dy, true);
      EXPECT_FALSE(batch_norm_of(*seq).used_offered_gradient_sums())
          << (relu ? "f32" : "no ReLU, bf16") << " " << int(dtype);
    }
  // Sums offered for another gradient tensor are ignored.
  auto seq = conv_bn_conv(1, true);
  initialize(*seq, 3);
  move_to(*seq, Device::simt());
  layers::BatchNorm2d& bn = batch_norm_of(*seq);
  layers::Context ctx;
  ctx.device = Device::simt();
  ctx.precision = layers::Precision::bf16;
  const Tensor h = Tensor::from_floats({2, 8, 8, 24}, random_values(2 * 8 * 8 * 24, 7), DType::bf16,
                                       Device::simt());
  bn.forward(ctx, h);
  bn.offer_gradient_sums(Tensor::zeros({2, 8, 8, 24}, DType::bf16, Device::simt()),
                         Tensor::zeros({2 * 2 * 24}, DType::f32, Device::simt()), 2);
  const Tensor g = Tensor::from_floats({2, 8, 8, 24}, random_values(2 * 8 * 8 * 24, 8), DType::bf16,
                                       Device::simt());
  bn.backward(ctx, g);
  EXPECT_FALSE(bn.used_offered_gradient_sums());
}

// Removes every backward link under `layer` (the forward ones stay).
void unlink_backward(layers::Layer& layer) {
  if (auto* conv = dynamic_cast<layers::Conv2d*>(&layer)) conv->take_gradient_sums_for(nullptr);
  for (const auto& child : layer.children()) unlink_backward(*child.second);
}

// A projection block, a strided projection block and an identity block: the first two end
// in a BatchNorm whose sums the next block's conv1 computes (onto a downsample's gradient,
// then onto the identity shortcut's).
std::unique_ptr<layers::Sequential> three_blocks() {
  auto seq = std::make_unique<layers::Sequential>();
  layers::BlockOptions a;
  a.in_channels = 16, a.planes = 8;  // -> 32 channels: projection
  layers::BlockOptions b = a;
  b.in_channels = 32, b.stride = 2;
  layers::BlockOptions c = b;
  c.planes = 32, c.stride = 1;  // BasicBlock 32 -> 32: identity
  seq->add(std::make_unique<layers::Bottleneck>(a));
  seq->add(std::make_unique<layers::Bottleneck>(b));
  seq->add(std::make_unique<layers::BasicBlock>(c));
  return seq;
}

TEST(BatchNormConvBackwardFusion, AResidualBlocksLastBatchNormTakesTheNextBlocksSums) {
  const runtime::Shape input{2, 8, 8, 16};
  const std::vector<float> x = rounded_to_bf16(random_values(std::size_t(input.numel()), 15));
  const std::vector<float> dy = rounded_to_bf16(random_values(2 * 4 * 4 * 32, 16));
  for (const kernels::ConvAlgo algo : {kernels::ConvAlgo::hand, kernels::ConvAlgo::wgmma}) {
    auto fused = three_blocks(), plain = three_blocks();
    for (layers::Sequential* seq : {fused.get(), plain.get()}) {
      initialize(*seq, 3);
      round_parameters_to_bf16(*seq);
      move_to(*seq, Device::simt());
      layers::link_conv_batch_norm_pairs(*seq);
    }
    unlink_backward(*plain);
    const LayerRun got = run_layer(*fused, Device::simt(), DType::bf16, input, x, dy, true, algo);
    const auto block = [&](int i) -> layers::ResidualBlock& {
      return dynamic_cast<layers::ResidualBlock&>(fused->at(std::size_t(i)));
    };
    EXPECT_TRUE(block(0).last_batch_norm().used_offered_gradient_sums());
    EXPECT_TRUE(block(1).last_batch_norm().used_offered_gradient_sums());
    EXPECT_FALSE(block(2).last_batch_norm().used_offered_gradient_sums());  // the last block
    const LayerRun want = run_layer(*plain, Device::simt(), DType::bf16, input, x, dy, true, algo);
    EXPECT_EQ(got.y, want.y);
    ASSERT_EQ(got.grads.size(), want.grads.size());
    for (std::size_t i = 0; i < want.grads.size(); ++i)
      expect_close(want.grads[i].first, got.grads[i].second, want.grads[i].second, 4e-3);
    expect_close("dx", got.dx, want.dx, 4e-3);
  }
}

}  // namespace
}  // namespace sombrero::test
