// BatchNorm statistics from the convolution epilogue, at the layer level (simt): a linked
// Conv2d -> BatchNorm2d (+ ReLU) pair in bf16 training uses them, and agrees with the same
// pair unlinked (two passes over the convolution's output). The statistics differ from the
// two-pass ones by f32 summation order only (~1e-6 relative), so the running statistics agree
// to 1e-5 and the outputs to a bf16 rounding (2^-9 per element, 4e-3 norm-wise with margin);
// gradients pass the fused ReLU, whose decisions a flipped rounding can change for a handful
// of elements: 1e-2 as in device_agreement.h. f32, cuDNN, a bias, or a BatchNorm fed another
// tensor fall back to the two passes.
#include <gtest/gtest.h>

#include <memory>

#include "layers/conv_batch_norm_link.h"
#include "layers/sequential.h"
#include "tests/layers/device_agreement.h"

namespace sombrero::test {
namespace {

std::unique_ptr<layers::Sequential> conv_bn(bool bias) {
  auto seq = std::make_unique<layers::Sequential>();
  seq->add(std::make_unique<layers::Conv2d>(layers::Conv2dOptions{16, 24, 3, 1, 1, bias}));
  seq->add(
      std::make_unique<layers::BatchNorm2d>(layers::BatchNorm2dOptions{24, 1e-5f, 0.1f, true}));
  return seq;
}

layers::BatchNorm2d& batch_norm_of(layers::Sequential& seq) {
  return dynamic_cast<layers::BatchNorm2d&>(seq.at(1));
}

// A linked pair run with `algo` against the same pair unlinked on the mma.sync tiles.
void expect_linked_pair_agrees_with_two_passes(kernels::ConvAlgo algo) {
  const runtime::Shape input{2, 8, 8, 16};
  const std::vector<float> x = rounded_to_bf16(random_values(std::size_t(input.numel()), 5));
  const std::vector<float> dy = rounded_to_bf16(random_values(2 * 8 * 8 * 24, 6));
  auto fused = conv_bn(false), plain = conv_bn(false);
  for (layers::Sequential* seq : {fused.get(), plain.get()}) {
    initialize(*seq, 3);
    round_parameters_to_bf16(*seq);
    move_to(*seq, Device::simt());
  }
  EXPECT_EQ(layers::link_conv_batch_norm_pairs(*fused), 1);
  const LayerRun got = run_layer(*fused, Device::simt(), DType::bf16, input, x, dy, true, algo);
  EXPECT_TRUE(batch_norm_of(*fused).used_offered_statistics());
  const LayerRun want = run_layer(*plain, Device::simt(), DType::bf16, input, x, dy, true);
  EXPECT_FALSE(batch_norm_of(*plain).used_offered_statistics());
  expect_close("y", got.y, want.y, 4e-3);
  for (std::size_t i = 0; i < want.buffers.size(); ++i)
    expect_close(want.buffers[i].first, got.buffers[i].second, want.buffers[i].second, 1e-5);
  expect_close("dx", got.dx, want.dx, 1e-2);
  for (std::size_t i = 0; i < want.grads.size(); ++i)
    expect_close(want.grads[i].first, got.grads[i].second, want.grads[i].second, 1e-2);
}

TEST(ConvBatchNormFusion, LinkedPairUsesEpilogueStatisticsAndAgreesWithTwoPasses) {
  expect_linked_pair_agrees_with_two_passes(kernels::ConvAlgo::hand);
}

// conv.algo wgmma: the convolution (and its statistics epilogue) on the emulated wgmma tile.
TEST(ConvBatchNormFusion, TheWgmmaTileAgreesWithTheMmaSyncOne) {
  expect_linked_pair_agrees_with_two_passes(kernels::ConvAlgo::wgmma);
}

TEST(ConvBatchNormFusion, FallsBackWhereTheEpilogueCannotServe) {
  const runtime::Shape input{2, 8, 8, 16};
  const std::vector<float> x = rounded_to_bf16(random_values(std::size_t(input.numel()), 5));
  const std::vector<float> dy = rounded_to_bf16(random_values(2 * 8 * 8 * 24, 6));
  for (const bool bias : {false, true}) {
    for (const DType dtype : {DType::f32, DType::bf16}) {
      if (!bias && dtype == DType::bf16) continue;  // the fused case, above
      auto seq = conv_bn(bias);
      initialize(*seq, 3);
      move_to(*seq, Device::simt());
      layers::link_conv_batch_norm_pairs(*seq);
      run_layer(*seq, Device::simt(), dtype, input, x, dy, true);
      EXPECT_FALSE(batch_norm_of(*seq).used_offered_statistics()) << (bias ? "with a bias" : "f32");
    }
  }
  // Offered statistics of another tensor are ignored.
  auto seq = conv_bn(false);
  initialize(*seq, 3);
  move_to(*seq, Device::simt());
  layers::BatchNorm2d& bn = batch_norm_of(*seq);
  layers::Context ctx;
  ctx.device = Device::simt();
  ctx.precision = layers::Precision::bf16;
  const Tensor other = Tensor::from_floats({2, 8, 8, 24}, random_values(2 * 8 * 8 * 24, 7),
                                           DType::bf16, Device::simt());
  bn.offer_statistics(Tensor::zeros({2, 8, 8, 24}, DType::bf16, Device::simt()),
                      Tensor::zeros({2 * 24}, DType::f32, Device::simt()), 128);
  bn.forward(ctx, other);
  EXPECT_FALSE(bn.used_offered_statistics());
}

}  // namespace
}  // namespace sombrero::test
