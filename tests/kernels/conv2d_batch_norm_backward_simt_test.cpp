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
// warps). Shapes the fused epilogue cannot take are refused.
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
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::random_values;
using test::to_bf16;
using test::to_float;

Conv2dShape shape(int n, int hw, int c, int k, int kernel, int stride) {
  Conv2dShape s;
  s.batch = n;
  s.in_height = s.in_width = hw;
  s.in_channels = c;
  s.out_channels = k;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = kernel / 2;
  return s;
}

// The layer's tensors: dy, w of the convolution; its input y = relu output (about half of it
// zero, some -0), the BatchNorm's input x, mean and invstd, gamma; dx's start when
// accumulating.
struct Inputs {
  std::vector<bf16> dy, w, relu_output, bn_input, start;
  std::vector<float> mean, invstd, gamma;
};

Inputs make_inputs(const Conv2dShape& s, unsigned seed) {
  Inputs in;
  in.dy = to_bf16(random_values(s.output_elements(), seed));
  in.w = to_bf16(random_values(s.weight_elements(), seed + 1));
  std::vector<float> y = random_values(s.input_elements(), seed + 2);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = i % 7 == 3 ? -0.0f : std::max(y[i], 0.0f);
  in.relu_output = to_bf16(y);
  std::vector<float> x = random_values(s.input_elements(), seed + 3);
  for (float& v : x) v = 3.0f + 2.0f * v;
  in.bn_input = to_bf16(x);
  in.start = to_bf16(random_values(s.input_elements(), seed + 4));
  const int C = s.in_channels;
  in.mean = random_values(C, seed + 5);
  for (float& v : in.mean) v = 3.0f + 0.1f * v;
  in.invstd = random_values(C, seed + 6);
  for (float& v : in.invstd) v = 0.5f + 0.1f * std::abs(v);
  in.gamma = random_values(C, seed + 7);
  return in;
}

// The per-tile sums the epilogue must write, in double: tiles of `rows` pixels over each
// stride phase's pixels (n, hi, wi) in order, phases (ph, pw) row-major.
std::vector<double> reference_partials(const Conv2dShape& s, int rows, std::int64_t tiles,
                                       const std::vector<float>& g, const std::vector<float>& x,
                                       const std::vector<float>& mean, std::vector<double>& scale) {
  const int C = s.in_channels;
  std::vector<double> partials(2 * std::size_t(tiles) * C, 0.0);
  scale.assign(partials.size(), 0.0);
  std::int64_t first_tile = 0;
  for (int ph = 0; ph < s.stride_h; ++ph)
    for (int pw = 0; pw < s.stride_w; ++pw) {
      std::int64_t m = 0;
      for (int n = 0; n < s.batch; ++n)
        for (int h = ph; h < s.in_height; h += s.stride_h)
          for (int w = pw; w < s.in_width; w += s.stride_w, ++m) {
            const std::int64_t tile = first_tile + m / rows;
            const std::size_t pixel = (std::size_t(n) * s.in_height + h) * s.in_width + w;
            for (int c = 0; c < C; ++c) {
              const double gv = g[pixel * C + c], term = gv * (double(x[pixel * C + c]) - mean[c]);
              partials[(2 * tile) * C + c] += gv;
              partials[(2 * tile + 1) * C + c] += term;
              scale[(2 * tile) * C + c] += std::abs(gv);
              scale[(2 * tile + 1) * C + c] += std::abs(term);
            }
          }
      first_tile += (m + rows - 1) / rows;
    }
  EXPECT_EQ(first_tile, tiles) << s.to_string();
  return partials;
}

// 2^-7 of the larger magnitude (a bf16 unit in the last place, or two), and 1e-5 of the
// largest |want| for values that cancel (a g + b xhat + d near 0).
void expect_within_one_bf16_ulp(const std::vector<float>& got, const std::vector<float>& want,
                                const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  float largest = 0.0f;
  for (const float v : want) largest = std::max(largest, std::abs(v));
  int failures = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double ulp = std::ldexp(std::max(std::abs(got[i]), std::abs(want[i])), -7);
    if (!(std::abs(double(got[i]) - want[i]) <= ulp + 1e-5 * largest) && failures++ < 3)
      ADD_FAILURE() << what << " dx[" << i << "] = " << got[i] << ", unfused " << want[i];
  }
}

void check_case(const Conv2dShape& s, const Conv2dKernelOptions& options, bool accumulate,
                bool relu, unsigned seed) {
  const std::string what = s.to_string() + " tile " + std::to_string(int(options.tile)) +
                           " wgmma " + std::to_string(int(options.wgmma)) +
                           (accumulate ? " accumulate" : "") + (relu ? " relu" : "");
  const Inputs in = make_inputs(s, seed);
  const int C = s.in_channels;
  const BatchNormShape bn{std::int64_t(s.batch) * s.in_height * s.in_width, C};
  const bf16* relu_output = relu ? in.relu_output.data() : nullptr;
  std::vector<float> workspace(batch_norm_workspace_floats(bn));

  // Unfused: dx, then the BatchNorm's backward with the ReLU's mask.
  std::vector<bf16> dx = accumulate ? in.start : std::vector<bf16>(s.input_elements());
  simt::conv2d_backward_data(s, in.dy.data(), in.w.data(), dx.data(), nullptr, options, accumulate);
  std::vector<float> g = to_float(dx);
  const std::vector<float> y = to_float(in.relu_output);
  if (relu)
    for (std::size_t i = 0; i < g.size(); ++i)
      if (!(y[i] > 0.0f)) g[i] = 0.0f;  // no NaN among them
  std::vector<bf16> bn_dx(dx.size());
  std::vector<float> dgamma(C, 0.25f), dbeta(C, -0.5f);
  simt::batch_norm_backward_training(bn, in.bn_input.data(), dx.data(), in.gamma.data(),
                                     in.mean.data(), in.invstd.data(), bn_dx.data(), dgamma.data(),
                                     dbeta.data(), workspace.data(), nullptr, relu_output);

  const std::int64_t tiles = conv2d_gradient_partials_tiles(s, options);
  const std::vector<float> x = to_float(in.bn_input);
  std::vector<double> scale;
  const std::vector<double> want = reference_partials(
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
    int failures = 0;
    for (std::size_t j = 0; j < want.size(); ++j)
      if (!(std::abs(partials[j] - want[j]) <= 1e-5 * scale[j] + 1e-6) && failures++ < 3)
        ADD_FAILURE() << label << " partial " << j << " (tile " << j / (2 * C)
                      << ") = " << partials[j] << ", want " << want[j];

    std::vector<bf16> fused_bn_dx(dx.size());
    std::vector<float> fused_dgamma(C, 0.25f), fused_dbeta(C, -0.5f);
    simt::batch_norm_backward_training_from_partials(
        bn, partials.data(), tiles, in.bn_input.data(), fused.data(), in.gamma.data(),
        in.mean.data(), in.invstd.data(), fused_bn_dx.data(), fused_dgamma.data(),
        fused_dbeta.data(), workspace.data(), nullptr);
    double gamma_scale = 0.0, beta_scale = 0.0;
    for (std::size_t t = 0; t < std::size_t(tiles); ++t)
      for (int c = 0; c < C; ++c) {
        beta_scale = std::max(beta_scale, scale[(2 * t) * C + c]);
        gamma_scale = std::max(gamma_scale, scale[(2 * t + 1) * C + c]);
      }
    for (int c = 0; c < C; ++c) {
      EXPECT_NEAR(fused_dbeta[c], dbeta[c], 1e-5 * beta_scale * double(tiles) + 1e-5)
          << label << " dbeta " << c;
      EXPECT_NEAR(fused_dgamma[c], dgamma[c],
                  1e-5 * gamma_scale * double(tiles) * in.invstd[c] + 1e-5)
          << label << " dgamma " << c;
    }
    expect_within_one_bf16_ulp(to_float(fused_bn_dx), to_float(bn_dx), label);
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
      check_case(shape(batch, 9, 16, 24, 3, 1), options, /*accumulate=*/false, /*relu=*/true, 11);
}

// The residual block's case: dx adds to the shortcut's gradient first, then the mask.
TEST(Conv2dBatchNormBackwardSimt, AccumulatingIntoTheShortcutGradient) {
  for (const Conv2dKernelOptions& options : every_tile())
    check_case(shape(2, 9, 16, 24, 3, 1), options, /*accumulate=*/true, /*relu=*/true, 21);
}

// Stride 2: 3x3 (four phases of 25, 20, 20 and 16 pixels per image) and 1x1 (three of four
// phases take no tap: their g is zero, or the shortcut's masked gradient when accumulating).
TEST(Conv2dBatchNormBackwardSimt, StridePhasesNumberTheirTilesInOrder) {
  for (const Conv2dKernelOptions& options :
       {Conv2dKernelOptions{Conv2dTile::small}, Conv2dKernelOptions{Conv2dTile::warpgroup}}) {
    check_case(shape(3, 9, 16, 16, 3, 2), options, false, true, 31);
    check_case(shape(2, 8, 16, 32, 1, 2), options, false, true, 41);
    check_case(shape(2, 8, 16, 32, 1, 2), options, true, true, 51);
  }
}

// Two column tiles, the second 8 wide (136 channels), and a BatchNorm without a ReLU.
TEST(Conv2dBatchNormBackwardSimt, WideChannelsAndNoRelu) {
  for (const Conv2dKernelOptions& options :
       {Conv2dKernelOptions{Conv2dTile::large}, Conv2dKernelOptions{Conv2dTile::warpgroup}}) {
    check_case(shape(2, 6, 136, 16, 1, 1), options, false, true, 61);
    check_case(shape(2, 6, 136, 16, 3, 1), options, false, false, 71);
  }
}

TEST(Conv2dBatchNormBackwardSimt, UnfusableShapesAreRefused) {
  const Conv2dShape s = shape(1, 4, 12, 8, 3, 1);  // 12 channels: not whole 16-byte vectors
  EXPECT_FALSE(conv2d_gradient_partials_fusable(s, true, nullptr, nullptr, nullptr));
  const Inputs in = make_inputs(s, 81);
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
