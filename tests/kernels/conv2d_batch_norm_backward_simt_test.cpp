// Backward-data fused with the backward sums of the BatchNorm (+ ReLU) that produced the
// convolution's input (conv2d_backward_data_with_batch_norm, then
// batch_norm_backward_training_from_partials), executed on the CPU through runtime/simt,
// against the unfused passes (conv2d_backward_data, then batch_norm_backward_training with
// the ReLU's output) and a double reference of the per-tile sums:
//   - dx is the masked gradient g, bit for bit what the unfused BatchNorm computes from the
//     stored dx (the same f32 sum, the same mask, one rounding), accumulating or not;
//   - the partials are the per-tile sums of g and g (x - mean) over the tile's pixels, tiles
//     numbered over the stride phases in order (f32 sums of at most 128 terms: within 1e-5 of
//     their absolute sum);
//   - the BatchNorm's dx, dgamma and dbeta from the partials equal the unfused ones up to the
//     summation order: dgamma, dbeta within 1e-5 of the sums' scale, dx within one bf16 unit
//     in the last place (its coefficients differ in their last f32 bits, and one rounding to
//     bf16 may fall on either side);
// on every tile (the 256-row one with an empty upper half), stride 1 and 2 (phases of
// different sizes, and 1x1 stride 2 where three phases of four take no tap and write zeros),
// two column tiles, and every SIMT schedule (the shuffles and the shared-memory sums across
// warps); the ReLU's mask recomputed from the BatchNorm's input and forward coefficients
// gives the same bits as the mask read from its output. Shapes the fused epilogue cannot
// take are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/conv/conv2d_kernels.h"
#include "kernels/norm/batch_norm.h"
#include "runtime/error.h"
#include "runtime/simt/schedule.h"
#include "tests/kernels/conv_batch_norm_reference.h"
#include "tests/kernels/conv_reference.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::random_values;
using test::to_bf16;
using test::to_float;

using test::square_conv;

void check_case(const Conv2dShape& s, const Conv2dKernelOptions& options, bool accumulate,
                bool relu, unsigned seed) {
  const std::string what = s.to_string() + " tile " + std::to_string(int(options.tile)) +
                           " wgmma " + std::to_string(int(options.wgmma)) +
                           (accumulate ? " accumulate" : "") + (relu ? " relu" : "");
  const test::ConvBatchNormInputs in = test::make_conv_batch_norm_inputs(s, seed);
  const int C = s.in_channels;
  const BatchNormShape bn{std::int64_t(s.batch) * s.in_height * s.in_width, C};
  const bf16* relu_output = relu ? in.relu_output.data() : nullptr;
  std::vector<float> workspace(batch_norm_workspace_floats(bn));

  // Unfused: dx, then the BatchNorm's backward with the ReLU's mask.
  std::vector<bf16> dx = accumulate ? in.start : std::vector<bf16>(s.input_elements());
  simt::conv2d_backward_data(s, in.dy.data(), in.w.data(), dx.data(), nullptr, options, accumulate);
  const std::vector<float> g =
      relu ? test::masked_gradient(to_float(dx), in.relu_output) : to_float(dx);
  std::vector<bf16> bn_dx(dx.size());
  std::vector<float> dgamma(C, 0.25f), dbeta(C, -0.5f);
  simt::batch_norm_backward_training(bn, in.bn_input.data(), dx.data(), in.gamma.data(),
                                     in.mean.data(), in.invstd.data(), bn_dx.data(), dgamma.data(),
                                     dbeta.data(), workspace.data(), nullptr, relu_output);

  const std::int64_t tiles = conv2d_gradient_partials_tiles(s, options);
  const std::vector<float> x = to_float(in.bn_input);
  std::vector<double> scale;
  const std::vector<double> want = test::reference_partials(
      s, conv2d_gradient_partials_tile_rows(s, options), tiles, g, x, in.mean, scale);
  ASSERT_EQ(want.size(), 2 * std::size_t(tiles) * C) << what;
  for (int i = 0; i < sombrero::simt::kTestScheduleCount; ++i) {
    const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(i));
    const std::string label = what + " " + sombrero::simt::test_schedule(i).name();
    std::vector<bf16> fused = accumulate ? in.start : std::vector<bf16>(s.input_elements());
    std::vector<float> partials(want.size(), NAN);
    simt::conv2d_backward_data_with_batch_norm(s, in.dy.data(), in.w.data(), fused.data(),
                                               relu_output, in.bn_input.data(), in.mean.data(),
                                               partials.data(), nullptr, options, accumulate);
    EXPECT_EQ(to_float(fused), g) << label;
    test::expect_partials(partials, want, scale, C, label);

    std::vector<bf16> fused_bn_dx(dx.size());
    std::vector<float> fused_dgamma(C, 0.25f), fused_dbeta(C, -0.5f);
    simt::batch_norm_backward_training_from_partials(
        bn, partials.data(), tiles, in.bn_input.data(), fused.data(), in.gamma.data(),
        in.mean.data(), in.invstd.data(), fused_bn_dx.data(), fused_dgamma.data(),
        fused_dbeta.data(), workspace.data(), nullptr);
    test::expect_parameter_gradients(fused_dgamma, dgamma, fused_dbeta, dbeta, scale, tiles,
                                     in.invstd, label);
    test::expect_within_one_bf16_ulp(to_float(fused_bn_dx), to_float(bn_dx), label);
  }
}

std::vector<Conv2dKernelOptions> every_tile() {
  return {{Conv2dTile::small},
          {Conv2dTile::large},
          {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::m128_sync},
          {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::m128_async},
          {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::m256_async},
          {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::n64_sync}};
}

// 3x3 stride 1 with a partial last tile (162 pixels) and, at batch 4, two 256-row tiles of
// which the second's upper half is empty (324 pixels).
TEST(Conv2dBatchNormBackwardSimt, StrideOneOnEveryTile) {
  for (const int batch : {2, 4})
    for (const Conv2dKernelOptions& options : every_tile())
      check_case(square_conv(batch, 9, 16, 24, 3, 1), options, /*accumulate=*/false, /*relu=*/true,
                 11);
}

// The residual block's case: dx adds to the shortcut's gradient first, then the mask.
TEST(Conv2dBatchNormBackwardSimt, AccumulatingIntoTheShortcutGradient) {
  for (const Conv2dKernelOptions& options : every_tile())
    check_case(square_conv(2, 9, 16, 24, 3, 1), options, /*accumulate=*/true, /*relu=*/true, 21);
}

// Stride 2: 3x3 (four phases of 25, 20, 20 and 16 pixels per image) and 1x1 (three of four
// phases take no tap: their g is zero, or the shortcut's masked gradient when accumulating).
TEST(Conv2dBatchNormBackwardSimt, StridePhasesNumberTheirTilesInOrder) {
  for (const Conv2dKernelOptions& options :
       {Conv2dKernelOptions{Conv2dTile::small}, Conv2dKernelOptions{Conv2dTile::warpgroup}}) {
    check_case(square_conv(3, 9, 16, 16, 3, 2), options, false, true, 31);
    check_case(square_conv(2, 8, 16, 32, 1, 2), options, false, true, 41);
    check_case(square_conv(2, 8, 16, 32, 1, 2), options, true, true, 51);
  }
}

// Two column tiles, the second 8 wide (136 channels), and a BatchNorm without a ReLU.
TEST(Conv2dBatchNormBackwardSimt, WideChannelsAndNoRelu) {
  for (const Conv2dKernelOptions& options :
       {Conv2dKernelOptions{Conv2dTile::large}, Conv2dKernelOptions{Conv2dTile::warpgroup}}) {
    check_case(square_conv(2, 6, 136, 16, 1, 1), options, false, true, 61);
    check_case(square_conv(2, 6, 136, 16, 3, 1), options, false, false, 71);
  }
}

// With the BatchNorm forward's coefficients (relu_affine) the epilogue recomputes the ReLU's
// output from the BatchNorm's input instead of reading it: g and the partials must be the
// same bits as with the output read, the output and coefficients being those of the
// BatchNorm's own training forward (about half of it zero).
void check_recomputed_mask(const Conv2dShape& s, const Conv2dKernelOptions& options,
                           bool accumulate, unsigned seed) {
  const std::string what = s.to_string() + " tile " + std::to_string(int(options.tile)) +
                           " wgmma " + std::to_string(int(options.wgmma)) +
                           (accumulate ? " accumulate" : "");
  const test::ConvBatchNormInputs in = test::make_conv_batch_norm_inputs(s, seed);
  const int C = s.in_channels;
  const BatchNormShape bn{std::int64_t(s.batch) * s.in_height * s.in_width, C};
  std::vector<float> workspace(batch_norm_workspace_floats(bn)), beta = random_values(C, seed + 9);
  for (float& b : beta) b *= 0.3f;
  std::vector<float> mean(C), invstd(C), affine(2 * std::size_t(C), NAN);
  std::vector<bf16> y(s.input_elements());
  simt::batch_norm_forward_training(
      bn, in.bn_input.data(), in.gamma.data(), beta.data(), 1e-5f, 0.1f, y.data(), nullptr, nullptr,
      mean.data(), invstd.data(), workspace.data(), nullptr, /*relu=*/true, nullptr, affine.data());
  const std::vector<float> y_values = to_float(y);
  const auto zeros = std::count(y_values.begin(), y_values.end(), 0.0f);
  ASSERT_GT(zeros, std::int64_t(y.size() / 4)) << what;
  ASSERT_LT(zeros, std::int64_t(3 * y.size() / 4)) << what;

  const std::int64_t tiles = conv2d_gradient_partials_tiles(s, options);
  std::vector<bf16> read = accumulate ? in.start : std::vector<bf16>(s.input_elements());
  std::vector<float> read_partials(2 * std::size_t(tiles) * C, NAN);
  simt::conv2d_backward_data_with_batch_norm(s, in.dy.data(), in.w.data(), read.data(), y.data(),
                                             in.bn_input.data(), mean.data(), read_partials.data(),
                                             nullptr, options, accumulate);
  std::vector<bf16> recomputed = accumulate ? in.start : std::vector<bf16>(s.input_elements());
  std::vector<float> recomputed_partials(read_partials.size(), NAN);
  simt::conv2d_backward_data_with_batch_norm(
      s, in.dy.data(), in.w.data(), recomputed.data(), nullptr, in.bn_input.data(), mean.data(),
      recomputed_partials.data(), nullptr, options, accumulate, affine.data());
  EXPECT_EQ(to_float(recomputed), to_float(read)) << what;
  EXPECT_EQ(recomputed_partials, read_partials) << what;
}

TEST(Conv2dBatchNormBackwardSimt, TheMaskRecomputedFromTheInputIsTheOneRead) {
  for (const Conv2dKernelOptions& options : every_tile()) {
    check_recomputed_mask(square_conv(2, 9, 16, 24, 3, 1), options, /*accumulate=*/false, 91);
    check_recomputed_mask(square_conv(2, 9, 16, 24, 3, 1), options, /*accumulate=*/true, 92);
  }
  check_recomputed_mask(square_conv(3, 9, 16, 16, 3, 2), {Conv2dTile::warpgroup}, false, 93);
  check_recomputed_mask(square_conv(2, 6, 136, 16, 1, 1), {Conv2dTile::large}, false, 94);
}

TEST(Conv2dBatchNormBackwardSimt, UnfusableShapesAreRefused) {
  const Conv2dShape s = square_conv(1, 4, 12, 8, 3, 1);  // 12 channels: not whole 16-byte vectors
  EXPECT_FALSE(conv2d_gradient_partials_fusable(s, true, nullptr, nullptr, nullptr));
  const test::ConvBatchNormInputs in = test::make_conv_batch_norm_inputs(s, 81);
  std::vector<bf16> dx(s.input_elements());
  std::vector<float> partials(2 * std::size_t(conv2d_gradient_partials_tiles(s)) * 12);
  EXPECT_THROW(simt::conv2d_backward_data_with_batch_norm(s, in.dy.data(), in.w.data(), dx.data(),
                                                          in.relu_output.data(), in.bn_input.data(),
                                                          in.mean.data(), partials.data(), nullptr),
               Error);
  const BatchNormShape bn{16, 12};
  std::vector<float> workspace(batch_norm_workspace_floats(bn)), dgamma(12), dbeta(12);
  EXPECT_THROW(
      simt::batch_norm_backward_training_from_partials(
          bn, partials.data(), 0, in.bn_input.data(), dx.data(), in.gamma.data(), in.mean.data(),
          in.invstd.data(), dx.data(), dgamma.data(), dbeta.data(), workspace.data(), nullptr),
      Error);
}

}  // namespace
}  // namespace sombrero::kernels
