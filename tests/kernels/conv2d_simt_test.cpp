// The hand-written implicit-GEMM convolution kernels (kernels/conv/conv2d_*.cu) executed on
// the CPU through runtime/simt, against the naive double reference, on every edge case:
// all three passes, f32 (FFMA) and bf16 (tensor cores through the mma/ldmatrix emulation).
//   - random inputs: norm-wise relative error below 1e-5 (f32) and 1e-2 (bf16);
//   - small-integer inputs: bit-exact (every partial sum is an integer below 2^24, so any
//     summation order is exact; bf16 outputs must be the bf16 rounding of the exact value),
//     under every SIMT schedule, with accumulation into a known dw;
//   - the other tile shape and a split reduction (workspace + second kernel), bit-exact.
// Outputs are poisoned with NaN before every run (dw with 1.0 when accumulating).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv/conv2d_kernels.h"
#include "runtime/error.h"
#include "runtime/simt/schedule.h"
#include "tests/kernels/conv_reference.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::random_values;
using test::relative_error;
using test::rounded_to_bf16;
using test::small_integers;
using test::to_bf16;
using test::to_float;

enum class Precision { f32, bf16 };

// got must equal want exactly, or, for a bf16 output, want rounded once to bf16.
void expect_exact(const std::vector<float>& got, const std::vector<double>& want, bool bf16_output,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const float expected = bf16_output ? bf16_to_float(float_to_bf16(static_cast<float>(want[i])))
                                       : static_cast<float>(want[i]);
    if (!(got[i] == expected) && mismatches++ < 3)
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", want " << expected;
  }
  EXPECT_EQ(mismatches, 0u) << what;
}

struct Gradients {
  std::vector<float> y, dx, dw;
};

// The three passes through kernels::simt in `precision` (inputs must be bf16-exact for bf16).
// y and dx start as NaN; dw starts as dw_start when accumulating, else as NaN.
Gradients run_simt(const Conv2dShape& s, Precision precision, const std::vector<float>& x,
                   const std::vector<float>& w, const std::vector<float>& dy, bool accumulate,
                   float dw_start = 1.0f, const Conv2dKernelOptions& options = {}) {
  Gradients out;
  out.dw.assign(s.weight_elements(), accumulate ? dw_start : NAN);
  std::vector<float> workspace(conv2d_backward_filter_workspace_bytes(s, options) / sizeof(float));
  void* ws = workspace.empty() ? nullptr : workspace.data();
  if (precision == Precision::f32) {
    out.y.assign(s.output_elements(), NAN);
    out.dx.assign(s.input_elements(), NAN);
    simt::conv2d_forward(s, x.data(), w.data(), out.y.data(), nullptr, options);
    simt::conv2d_backward_data(s, dy.data(), w.data(), out.dx.data(), nullptr, options);
    simt::conv2d_backward_filter(s, x.data(), dy.data(), out.dw.data(), accumulate, ws, nullptr,
                                 options);
  } else {
    const auto xb = to_bf16(x), wb = to_bf16(w), dyb = to_bf16(dy);
    std::vector<bf16> y(s.output_elements(), float_to_bf16(NAN));
    std::vector<bf16> dx(s.input_elements(), float_to_bf16(NAN));
    simt::conv2d_forward(s, xb.data(), wb.data(), y.data(), nullptr, options);
    simt::conv2d_backward_data(s, dyb.data(), wb.data(), dx.data(), nullptr, options);
    simt::conv2d_backward_filter(s, xb.data(), dyb.data(), out.dw.data(), accumulate, ws, nullptr,
                                 options);
    out.y = to_float(y);
    out.dx = to_float(dx);
  }
  return out;
}

struct References {
  std::vector<double> y, dx, dw;
};
References references(const Conv2dShape& s, const std::vector<float>& x,
                      const std::vector<float>& w, const std::vector<float>& dy) {
  return {test::reference_conv_forward(s, x, w), test::reference_conv_backward_data(s, dy, w),
          test::reference_conv_backward_filter(s, x, dy)};
}

void expect_exact_gradients(const Gradients& got, const References& want, Precision precision,
                            double dw_offset, const std::string& what) {
  const bool bf16_out = precision == Precision::bf16;
  std::vector<double> dw = want.dw;
  for (double& v : dw) v += dw_offset;
  expect_exact(got.y, want.y, bf16_out, what + " y");
  expect_exact(got.dx, want.dx, bf16_out, what + " dx");
  expect_exact(got.dw, dw, /*bf16_output=*/false, what + " dw");
}

class Conv2dSimt : public testing::TestWithParam<Conv2dShape> {};

TEST_P(Conv2dSimt, RandomInputsMatchReferenceInF32) {
  const Conv2dShape s = GetParam();
  const auto x = random_values(s.input_elements(), 1), w = random_values(s.weight_elements(), 2);
  const auto dy = random_values(s.output_elements(), 3);
  const Gradients got = run_simt(s, Precision::f32, x, w, dy, /*accumulate=*/false);
  const References want = references(s, x, w, dy);
  // f32 sums of <= 360 unit-size terms: relative error ~1e-7 * sqrt(terms).
  EXPECT_LT(relative_error(got.y, want.y), 1e-5) << s.to_string();
  EXPECT_LT(relative_error(got.dx, want.dx), 1e-5) << s.to_string();
  EXPECT_LT(relative_error(got.dw, want.dw), 1e-5) << s.to_string();
}

TEST_P(Conv2dSimt, RandomInputsMatchReferenceInBf16) {
  const Conv2dShape s = GetParam();
  // Inputs are bf16 values, so the reference sees exactly what the kernel sees; what is
  // left is f32 accumulation and the final rounding of y and dx to bf16 (2^-9 relative).
  const auto x = rounded_to_bf16(random_values(s.input_elements(), 4));
  const auto w = rounded_to_bf16(random_values(s.weight_elements(), 5));
  const auto dy = rounded_to_bf16(random_values(s.output_elements(), 6));
  const Gradients got = run_simt(s, Precision::bf16, x, w, dy, /*accumulate=*/false);
  const References want = references(s, x, w, dy);
  EXPECT_LT(relative_error(got.y, want.y), 1e-2) << s.to_string();
  EXPECT_LT(relative_error(got.dx, want.dx), 1e-2) << s.to_string();
  EXPECT_LT(relative_error(got.dw, want.dw), 1e-5) << s.to_string();  // dw stays f32
}

// Small-integer inputs (seeds seed .. seed + 2) through the three passes with `options`,
// both precisions, every SIMT schedule, dw accumulating onto dw_start: bit-exact.
void expect_bit_exact_under_every_schedule(const Conv2dShape& s, unsigned seed,
                                           const Conv2dKernelOptions& options, float dw_start,
                                           const std::string& label) {
  const auto x = small_integers(s.input_elements(), seed),
             w = small_integers(s.weight_elements(), seed + 1);
  const auto dy = small_integers(s.output_elements(), seed + 2);
  const References want = references(s, x, w, dy);
  for (Precision precision : {Precision::f32, Precision::bf16})
    for (int i = 0; i < sombrero::simt::kTestScheduleCount; ++i) {
      const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(i));
      const std::string what = std::string(precision == Precision::f32 ? "f32 " : "bf16 ") + label +
                               sombrero::simt::test_schedule(i).name() + " " + s.to_string();
      const Gradients got =
          run_simt(s, precision, x, w, dy, /*accumulate=*/true, dw_start, options);
      expect_exact_gradients(got, want, precision, dw_start, what);
    }
}

TEST_P(Conv2dSimt, SmallIntegersAreBitExactUnderEverySchedule) {
  expect_bit_exact_under_every_schedule(GetParam(), 7, {}, 1.0f, "");
}

TEST_P(Conv2dSimt, LargeTilesAndSplitReductionAreBitExact) {
  const Conv2dShape s = GetParam();
  const auto x = small_integers(s.input_elements(), 10),
             w = small_integers(s.weight_elements(), 11);
  const auto dy = small_integers(s.output_elements(), 12);
  const References want = references(s, x, w, dy);
  Conv2dKernelOptions large_split;
  large_split.tile = Conv2dTile::large;
  large_split.split_k = 3;
  Conv2dKernelOptions small_split;
  small_split.tile = Conv2dTile::small;
  small_split.split_k = 2;
  for (Precision precision : {Precision::f32, Precision::bf16}) {
    const std::string what = std::string(precision == Precision::f32 ? "f32" : "bf16") + " ";
    const Gradients large = run_simt(s, precision, x, w, dy, false, 0.0f, large_split);
    expect_exact_gradients(large, want, precision, 0.0, what + "large, split 3 " + s.to_string());
    const Gradients small = run_simt(s, precision, x, w, dy, true, -3.0f, small_split);
    expect_exact_gradients(small, want, precision, -3.0, what + "small, split 2 " + s.to_string());
  }
}

// The wgmma tile (Conv2dTile::warpgroup: bf16 with vectorized operands, all three passes;
// f32 and unvectorizable shapes take the large tile) through the wgmma emulation, bit-exact
// under every schedule, with a split reduction in backward-filter where the shape has one.
// Every wgmma tile shape: 128x128 synchronous, 128x128 with a K step in flight (the SIMT
// emulation computes a wgmma at its wait, reading shared memory then, and poisons a stage a
// cp.async refills until its wait: a stage refilled too early fails here), 256x128, 128x64
// (m64n64 wgmmas) and 64x128 (one warpgroup; backward-filter only, the other passes fall
// back to 128x128).
TEST_P(Conv2dSimt, WarpgroupTileIsBitExactUnderEverySchedule) {
  for (const Conv2dWgmmaTile shape :
       {Conv2dWgmmaTile::m128_sync, Conv2dWgmmaTile::m128_async, Conv2dWgmmaTile::m256_async,
        Conv2dWgmmaTile::n64_sync, Conv2dWgmmaTile::m64_sync}) {
    Conv2dKernelOptions warpgroup;
    warpgroup.tile = Conv2dTile::warpgroup;
    warpgroup.split_k = 2;
    warpgroup.wgmma = shape;
    expect_bit_exact_under_every_schedule(GetParam(), 13, warpgroup, 2.0f,
                                          "warpgroup " + std::to_string(int(shape)) + " ");
  }
}

// Backward-data with accumulate adds the gradient to dx in its epilogue: dx = start + the
// reference, exact on small integers, on every tile (the wgmma one included) and in both
// precisions (bf16: the f32 sum rounded once, exact here), the zero phases of a stride
// included (they must leave dx as it was).
TEST_P(Conv2dSimt, BackwardDataAccumulatesIntoDx) {
  const Conv2dShape s = GetParam();
  const auto w = small_integers(s.weight_elements(), 16),
             dy = small_integers(s.output_elements(), 17);
  const auto start = small_integers(s.input_elements(), 18);
  const std::vector<double> gradient = test::reference_conv_backward_data(s, dy, w);
  std::vector<double> want(gradient.size());
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = gradient[i] + start[i];
  for (const Conv2dTile tile : {Conv2dTile::small, Conv2dTile::large, Conv2dTile::warpgroup}) {
    Conv2dKernelOptions options;
    options.tile = tile;
    const std::string what = "tile " + std::to_string(int(tile)) + " " + s.to_string();
    std::vector<float> dx = start;
    simt::conv2d_backward_data(s, dy.data(), w.data(), dx.data(), nullptr, options, true);
    expect_exact(dx, want, false, "f32 dx " + what);
    std::vector<bf16> dx16 = to_bf16(start);
    simt::conv2d_backward_data(s, to_bf16(dy).data(), to_bf16(w).data(), dx16.data(), nullptr,
                               options, true);
    expect_exact(to_float(dx16), want, true, "bf16 dx " + what);
  }
}

std::string shape_name(const testing::TestParamInfo<Conv2dShape>& info) {
  const Conv2dShape& s = info.param;
  return "N" + std::to_string(s.batch) + "_" + std::to_string(s.in_height) + "x" +
         std::to_string(s.in_width) + "x" + std::to_string(s.in_channels) + "_K" +
         std::to_string(s.out_channels) + "_" + std::to_string(s.kernel_h) + "x" +
         std::to_string(s.kernel_w) + "_stride" + std::to_string(s.stride_h) + "_case" +
         std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(EdgeCases, Conv2dSimt, testing::ValuesIn(test::conv_edge_cases()),
                         shape_name);

// Beyond the shared edge cases: stride 2 with vectorizable C and K (16-byte loads in every
// backward phase), stride 3 with dilation 2 (every third tap lands, per phase), and stride 2
// with dilation 2, vectorizable (gcd 2: every tap lands in every other phase, none in the
// rest; a landing tap's output row moves by dilation / gcd = 1 per tap).
std::vector<Conv2dShape> phase_cases() {
  Conv2dShape a = test::conv_edge_cases()[0];
  a.batch = 2;
  a.in_height = a.in_width = 9;
  a.in_channels = 16;
  a.out_channels = 24;
  a.stride_h = a.stride_w = 2;
  Conv2dShape b;
  b.in_height = 10;
  b.in_width = 11;
  b.in_channels = 5;
  b.out_channels = 4;
  b.kernel_h = b.kernel_w = 5;
  b.stride_h = b.stride_w = 3;
  b.dilation_h = b.dilation_w = 2;
  b.pad_top = 3;
  b.pad_bottom = 1;
  b.pad_left = 2;
  b.pad_right = 4;
  Conv2dShape c = b;
  c.batch = 2;
  c.in_height = 9;
  c.in_width = 8;
  c.in_channels = 16;
  c.out_channels = 8;
  c.kernel_h = c.kernel_w = 3;
  c.stride_h = c.stride_w = 2;
  c.pad_top = 2;
  c.pad_bottom = 1;
  c.pad_left = 1;
  c.pad_right = 2;
  return {a, b, c};
}

INSTANTIATE_TEST_SUITE_P(StridePhases, Conv2dSimt, testing::ValuesIn(phase_cases()), shape_name);

// Shapes for the wgmma tile's edges: K_gemm not a multiple of its BK (64) with a step that
// spans taps (C = 8, 3x3: 72), more than one column tile (K = 136), stride 2, 1x1; and two
// with gemm_m >= 256 for the 256-row tile: 288 output (and input) pixels, the second tile
// partial, K_gemm 144; and 264 output channels (backward-filter's rows).
std::vector<Conv2dShape> warpgroup_cases() {
  const auto shape = test::square_conv;
  return {shape(2, 6, 8, 16, 3, 1),  shape(1, 9, 64, 136, 3, 1), shape(2, 7, 32, 128, 3, 2),
          shape(1, 8, 72, 40, 1, 1), shape(2, 12, 16, 24, 3, 1), shape(1, 4, 8, 264, 1, 1)};
}

INSTANTIATE_TEST_SUITE_P(WarpgroupEdges, Conv2dSimt, testing::ValuesIn(warpgroup_cases()),
                         shape_name);

TEST(Conv2dSimtPlan, TheWarpgroupTileIsOnlyEverChosenOnRequest) {
  const Conv2dShape s = warpgroup_cases()[1];
  Conv2dKernelOptions options;
  options.tile = Conv2dTile::warpgroup;
  for (const Conv2dPass pass :
       {Conv2dPass::forward, Conv2dPass::backward_data, Conv2dPass::backward_filter}) {
    const Conv2dGemmPlan automatic = conv2d_gemm_plan(pass, s);
    EXPECT_FALSE(automatic.warpgroup);
    const Conv2dGemmPlan plan = conv2d_gemm_plan(pass, s, options);
    EXPECT_TRUE(plan.warpgroup);
    EXPECT_TRUE(plan.large_tile);         // 128 rows, as the epilogue statistics' tiles assume
    EXPECT_EQ(plan.split_chunk % 64, 0);  // whole wgmma K steps per split
  }
  EXPECT_EQ(conv2d_statistics_tile_rows(s, options), 128);
  // The 256-row tile where gemm_m reaches 256, else the 128-row one with a step in flight;
  // the statistics' tiles stay 128 rows (a 256-row tile writes two).
  options.wgmma = Conv2dWgmmaTile::m256_async;
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::forward, s, options).wgmma_tile,
            Conv2dWgmmaTile::m128_async);  // 81 pixels
  const Conv2dShape tall = warpgroup_cases()[4];
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::forward, tall, options).wgmma_tile,
            Conv2dWgmmaTile::m256_async);
  EXPECT_EQ(conv2d_statistics_tile_rows(tall, options), 128);
  // automatic: 256 rows for backward-filter with >= 256 output channels; where a side of the
  // GEMM is <= 64, the tile with that side 64 (128x64 forward and backward-data, 64x128
  // backward-filter); else 128x128 synchronous.
  const Conv2dKernelOptions automatic{Conv2dTile::warpgroup};
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::forward, tall, automatic).wgmma_tile,
            Conv2dWgmmaTile::n64_sync);  // 24 output channels
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::backward_filter, tall, automatic).wgmma_tile,
            Conv2dWgmmaTile::m64_sync);  // 24 output channels
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::backward_data, tall, automatic).wgmma_tile,
            Conv2dWgmmaTile::n64_sync);  // 16 input channels
  const Conv2dShape wide = warpgroup_cases()[5];
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::backward_filter, wide, automatic).wgmma_tile,
            Conv2dWgmmaTile::m256_async);  // 264 output channels
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::forward, wide, automatic).wgmma_tile,
            Conv2dWgmmaTile::m128_sync);
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::backward_data, wide, automatic).wgmma_tile,
            Conv2dWgmmaTile::n64_sync);  // 8 input channels
  // 64 rows are backward-filter's only: a forward's statistics come in 128-row tiles.
  Conv2dKernelOptions short_rows{Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::m64_sync};
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::forward, tall, short_rows).wgmma_tile,
            Conv2dWgmmaTile::m128_sync);
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::backward_data, tall, short_rows).wgmma_tile,
            Conv2dWgmmaTile::m128_sync);
  EXPECT_EQ(conv2d_gemm_plan(Conv2dPass::backward_filter, wide, short_rows).wgmma_tile,
            Conv2dWgmmaTile::m64_sync);                          // on request, even with 264 rows
  EXPECT_EQ(conv2d_statistics_tile_rows(tall, automatic), 128);  // 128x64 keeps 128 rows
}

TEST(Conv2dSimtPlan, SplitCountsAndWorkspaceFollowTheOptions) {
  Conv2dShape s = test::conv_edge_cases()[0];  // N=2 9x9: K_gemm = 162 output pixels
  Conv2dKernelOptions options;
  options.split_k = 3;
  const Conv2dGemmPlan plan = conv2d_gemm_plan(Conv2dPass::backward_filter, s, options);
  EXPECT_EQ(plan.gemm_k, 162);
  EXPECT_EQ(plan.split_chunk, 64);  // ceil(162 / 3) = 54, rounded up to a multiple of 32
  EXPECT_EQ(plan.splits, 3);
  EXPECT_EQ(conv2d_backward_filter_workspace_bytes(s, options), 3u * 8 * 27 * sizeof(float));
  options.split_k = 1;
  EXPECT_EQ(conv2d_backward_filter_workspace_bytes(s, options), 0u);
}

// The BatchNorm statistics of the forward's epilogue, against the stored y itself: per row
// tile and channel, the sum (bf16 values that are small integers: exact) and the centred sum
// of squares (f32 around an f32 mean: within 1e-5 of the double value), on both tile shapes
// with a last tile that is partial (M = 2 * 9 * 9 = 162 pixels), the wgmma tile too, and the same y
// as the plain forward. Channels that are not a multiple of 8 are refused.
TEST(Conv2dSimtStatistics, EpilogueStatisticsDescribeTheStoredOutput) {
  Conv2dShape s;
  s.batch = 2, s.in_height = s.in_width = 9, s.in_channels = 16, s.out_channels = 24;
  s.kernel_h = s.kernel_w = 3, s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  // Batch 4: 324 pixels, two 256-row tiles, the second's upper half empty.
  for (const int batch : {2, 4})
    for (const Conv2dKernelOptions options : std::vector<Conv2dKernelOptions>{
             {Conv2dTile::small},
             {Conv2dTile::large},
             {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::m128_sync},
             {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::m128_async},
             {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::m256_async},
             {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::n64_sync},
             {Conv2dTile::warpgroup, 0, Conv2dWgmmaTile::m64_sync}}) {  // -> m128_sync
      s.batch = batch;
      const std::vector<bf16> x = to_bf16(small_integers(s.input_elements(), 3)),
                              w = to_bf16(small_integers(s.weight_elements(), 4));
      std::vector<bf16> y(s.output_elements()), y_plain(s.output_elements());
      std::vector<float> stats(std::size_t(conv2d_statistics_floats(s, options)), NAN);
      simt::conv2d_forward_with_statistics(s, x.data(), w.data(), y.data(), stats.data(), nullptr,
                                           options);
      simt::conv2d_forward(s, x.data(), w.data(), y_plain.data(), nullptr, options);
      EXPECT_EQ(to_float(y), to_float(y_plain));
      const int K = s.out_channels, pixels = s.batch * s.out_height() * s.out_width();
      const std::vector<double> want =
          test::tile_statistics(to_float(y), pixels, K, conv2d_statistics_tile_rows(s, options));
      for (std::size_t i = 0; i < want.size(); ++i) {
        if ((i / K) % 2 == 0)  // sums of small integers: exact
          EXPECT_EQ(stats[i], float(want[i]))
              << "statistic " << i << " batch " << batch << " tile " << int(options.tile)
              << " wgmma " << int(options.wgmma);
        else
          EXPECT_NEAR(stats[i], want[i], 1e-5 * want[i] + 1e-3)
              << "statistic " << i << " batch " << batch << " tile " << int(options.tile)
              << " wgmma " << int(options.wgmma);
      }
    }
  // The 128x64 tile's statistics are the 128x128 tile's bit for bit (two workers per column
  // over the same row halves), here with 24 and with 72 channels (two column tiles of 64).
  for (const int channels : {24, 72}) {
    Conv2dShape c = s;
    c.out_channels = channels;
    const std::vector<bf16> x = to_bf16(small_integers(c.input_elements(), 5)),
                            w = to_bf16(random_values(c.weight_elements(), 6));
    std::vector<std::vector<float>> stats;
    for (const Conv2dWgmmaTile tile : {Conv2dWgmmaTile::m128_sync, Conv2dWgmmaTile::n64_sync}) {
      const Conv2dKernelOptions options{Conv2dTile::warpgroup, 0, tile};
      std::vector<bf16> y(c.output_elements());
      stats.emplace_back(std::size_t(conv2d_statistics_floats(c, options)), NAN);
      simt::conv2d_forward_with_statistics(c, x.data(), w.data(), y.data(), stats.back().data(),
                                           nullptr, options);
    }
    EXPECT_EQ(stats[0], stats[1]) << channels << " channels";
  }
  Conv2dShape odd = s;
  odd.out_channels = 12;
  const std::vector<bf16> x = to_bf16(small_integers(odd.input_elements(), 3));
  std::vector<bf16> y(odd.output_elements());
  std::vector<float> stats(std::size_t(conv2d_statistics_floats(odd)));
  std::vector<bf16> w12(odd.weight_elements());
  EXPECT_THROW(simt::conv2d_forward_with_statistics(odd, x.data(), w12.data(), y.data(),
                                                    stats.data(), nullptr),
               Error);
}

TEST(Conv2dSimtPlan, MissingWorkspaceAndInvalidShapesAreRefused) {
  const Conv2dShape s = test::conv_edge_cases()[0];
  Conv2dKernelOptions options;
  options.split_k = 2;
  std::vector<float> x(s.input_elements()), dy(s.output_elements()), dw(s.weight_elements());
  EXPECT_THROW(simt::conv2d_backward_filter(s, x.data(), dy.data(), dw.data(), false, nullptr,
                                            nullptr, options),
               Error);
  Conv2dShape bad = s;
  bad.kernel_h = 12;  // larger than the padded input
  EXPECT_THROW(simt::conv2d_forward(bad, x.data(), x.data(), dw.data(), nullptr), Error);
}

// The kernels index w and a row of pixels with 32-bit offsets: shapes beyond that are refused
// by name before anything runs (no tensor is touched: the checks come first).
TEST(Conv2dSimtPlan, ShapesBeyondThirtyTwoBitOffsetsAreRefused) {
  Conv2dShape huge_weights = test::conv_edge_cases()[0];
  huge_weights.in_channels = 1 << 14;
  huge_weights.out_channels = 1 << 14;  // 3 x 3 x 2^28 weights
  Conv2dShape wide_rows = test::conv_edge_cases()[0];
  wide_rows.in_width = 1 << 16;
  wide_rows.in_channels = 1 << 15;  // 2^31 elements in one row of pixels
  const auto refused = [](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return std::string(e.what()).find("32-bit offsets") != std::string::npos;
    }
    return false;
  };
  for (const Conv2dShape& s : {huge_weights, wide_rows}) {
    SCOPED_TRACE(s.to_string());
    const float* none = nullptr;
    float* out = nullptr;
    EXPECT_TRUE(refused([&] { simt::conv2d_forward(s, none, none, out, nullptr); }));
    EXPECT_TRUE(refused([&] { simt::conv2d_backward_data(s, none, none, out, nullptr); }));
    EXPECT_TRUE(refused(
        [&] { simt::conv2d_backward_filter(s, none, none, out, false, nullptr, nullptr); }));
  }
}

}  // namespace

// gtest prints a failing parameter with this instead of its bytes.
void PrintTo(const Conv2dShape& shape, std::ostream* out) {
  *out << shape.to_string();
}

}  // namespace sombrero::kernels
