// The hand-written implicit-GEMM convolution kernels on a real GPU, every ResNet-50 shape at
// batch 8, all three passes, f32 and bf16, against the CPU backend (im2col + OpenBLAS,
// itself checked against the double reference in conv2d_cpu_test.cpp):
//   - random inputs (bf16 values, so both precisions see the same numbers): norm-wise
//     relative error below 1e-5 (f32; dw of either precision) and 1e-2 (bf16 y, dx);
//   - small integers: bit-exact (every partial sum is an integer below 2^24 — at most
//     4 * 8 * 112 * 112 for backward-filter — so any summation order, tensor cores
//     included, gives the exact value; bf16 outputs are its bf16 rounding).
// Outputs are poisoned before each run: NaN, or 1.0 for an accumulated dw.
// Skips with a message when no CUDA device is present.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/conv/conv2d_cpu.h"
#include "kernels/conv/conv2d_kernels.h"
#include "kernels/conv/resnet_conv_shapes.h"
#include "runtime/device_info.h"
#include "tests/kernels/conv_reference.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::relative_error;
using test::small_integers;
using test::to_bf16;
using test::to_float;

constexpr int kBatch = 8;

std::vector<float> random_bf16_values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = bf16_to_float(float_to_bf16(normal(rng)));
  return v;
}

void expect_exact(const std::vector<float>& got, const std::vector<float>& want, bool bf16_output,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const float expected = bf16_output ? bf16_to_float(float_to_bf16(want[i])) : want[i];
    if (!(got[i] == expected) && mismatches++ < 3)
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", want " << expected;
  }
  EXPECT_EQ(mismatches, 0u) << what;
}

struct Results {
  std::vector<float> y, dx, dw;
};

Results cpu_results(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                    const std::vector<float>& dy, float dw_start) {
  Results r;
  r.y.assign(s.output_elements(), NAN);
  r.dx.assign(s.input_elements(), NAN);
  r.dw.assign(s.weight_elements(), dw_start);
  cpu::conv2d_forward(s, x.data(), w.data(), r.y.data());
  cpu::conv2d_backward_data(s, dy.data(), w.data(), r.dx.data());
  cpu::conv2d_backward_filter(s, x.data(), dy.data(), r.dw.data(), /*accumulate=*/true);
  return r;
}

// The three passes on the GPU with elements of type T (float or bf16); dw accumulates onto
// dw_start when `accumulate`, else starts as NaN.
template <typename T>
Results gpu_results(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                    const std::vector<float>& dy, bool accumulate, float dw_start,
                    const Conv2dKernelOptions& options = {}) {
  auto convert = [](const std::vector<float>& v) {
    if constexpr (std::is_same_v<T, float>)
      return v;
    else
      return to_bf16(v);
  };
  auto back = [](const std::vector<T>& v) {
    if constexpr (std::is_same_v<T, float>)
      return v;
    else
      return to_float(v);
  };
  const T poison = [] {
    if constexpr (std::is_same_v<T, float>)
      return T(NAN);
    else
      return float_to_bf16(NAN);
  }();
  test::DeviceBuffer<T> d_x(convert(x)), d_w(convert(w)), d_dy(convert(dy));
  test::DeviceBuffer<T> d_y(std::vector<T>(s.output_elements(), poison));
  test::DeviceBuffer<T> d_dx(std::vector<T>(s.input_elements(), poison));
  test::DeviceBuffer<float> d_dw(
      std::vector<float>(s.weight_elements(), accumulate ? dw_start : NAN));
  test::DeviceBuffer<float> workspace(
      std::vector<float>(conv2d_backward_filter_workspace_bytes(s, options) / sizeof(float), NAN));
  cuda::conv2d_forward(s, d_x.get(), d_w.get(), d_y.get(), nullptr, options);
  cuda::conv2d_backward_data(s, d_dy.get(), d_w.get(), d_dx.get(), nullptr, options);
  cuda::conv2d_backward_filter(s, d_x.get(), d_dy.get(), d_dw.get(), accumulate, workspace.get(),
                               nullptr, options);
  SOMBRERO_CHECK_CUDA(cudaGetLastError());
  return {back(d_y.download()), back(d_dx.download()), d_dw.download()};
}

// Random bf16-valued inputs through the three passes in precision T with `options`, against
// the CPU backend: f32 within 1e-5 norm-wise, bf16 y and dx within 1e-2 (dw stays f32: 1e-5).
template <typename T>
void expect_close_on_random_values(const NamedConvShape& named, const Conv2dKernelOptions& options,
                                   const std::string& label) {
  const Conv2dShape& s = named.shape;
  const auto x = random_bf16_values(s.input_elements(), 1);
  const auto w = random_bf16_values(s.weight_elements(), 2);
  const auto dy = random_bf16_values(s.output_elements(), 3);
  const Results want = cpu_results(s, x, w, dy, 0.0f);
  const Results got = gpu_results<T>(s, x, w, dy, false, 0.0f, options);
  const double activations = std::is_same_v<T, float> ? 1e-5 : 1e-2;
  EXPECT_LT(relative_error(got.y, want.y), activations) << label << " y " << named.name;
  EXPECT_LT(relative_error(got.dx, want.dx), activations) << label << " dx " << named.name;
  EXPECT_LT(relative_error(got.dw, want.dw), 1e-5) << label << " dw (f32) " << named.name;
}

// Small integers through the three passes in precision T with `options`, dw accumulating
// onto 1: bit-exact against the CPU backend (bf16 y and dx: its bf16 rounding).
template <typename T>
void expect_exact_on_small_integers(const NamedConvShape& named, const Conv2dKernelOptions& options,
                                    const std::string& label) {
  const Conv2dShape& s = named.shape;
  const auto x = small_integers(s.input_elements(), 4);
  const auto w = small_integers(s.weight_elements(), 5);
  const auto dy = small_integers(s.output_elements(), 6);
  const Results want = cpu_results(s, x, w, dy, 1.0f);
  const Results got = gpu_results<T>(s, x, w, dy, true, 1.0f, options);
  constexpr bool bf16_output = !std::is_same_v<T, float>;
  expect_exact(got.y, want.y, bf16_output, label + " y " + named.name);
  expect_exact(got.dx, want.dx, bf16_output, label + " dx " + named.name);
  expect_exact(got.dw, want.dw, false, label + " dw " + named.name);
}

// The forward's BatchNorm statistics with `options`: the same y as the plain forward, and per
// row tile the sum of the stored y (small integers: exact) and the centred sum of squares
// (within 1e-5 of the double value).
void expect_epilogue_statistics(const NamedConvShape& named, const Conv2dKernelOptions& options) {
  const Conv2dShape& s = named.shape;
  test::DeviceBuffer<bf16> x(to_bf16(small_integers(s.input_elements(), 4))),
      w(to_bf16(small_integers(s.weight_elements(), 5))), y(std::vector<bf16>(s.output_elements())),
      y_plain(std::vector<bf16>(s.output_elements()));
  test::DeviceBuffer<float> stats(
      std::vector<float>(std::size_t(conv2d_statistics_floats(s, options)), NAN));
  cuda::conv2d_forward_with_statistics(s, x.get(), w.get(), y.get(), stats.get(), nullptr, options);
  cuda::conv2d_forward(s, x.get(), w.get(), y_plain.get(), nullptr, options);
  const std::vector<float> yf = to_float(y.download()), got = stats.download();
  EXPECT_EQ(yf, to_float(y_plain.download())) << named.name;
  const int K = s.out_channels, pixels = s.batch * s.out_height() * s.out_width();
  const std::vector<double> want =
      test::tile_statistics(yf, pixels, K, conv2d_statistics_tile_rows(s, options));
  int mismatches = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const bool sum = (i / K) % 2 == 0;  // sums of small integers: exact
    if ((sum ? got[i] != float(want[i]) : std::abs(got[i] - want[i]) > 1e-5 * want[i] + 1e-3) &&
        mismatches++ < 3)
      ADD_FAILURE() << named.name << " statistic " << i << ": " << got[i] << " want " << want[i];
  }
  EXPECT_EQ(mismatches, 0) << named.name;
}

TEST(Conv2dGpu, EveryResNet50ShapeMatchesTheCpuBackend) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const NamedConvShape& named : resnet50_conv_shapes(kBatch)) {
    expect_close_on_random_values<float>(named, {}, "f32");
    expect_close_on_random_values<bf16>(named, {}, "bf16");
  }
}

TEST(Conv2dGpu, EveryResNet50ShapeIsBitExactOnSmallIntegers) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const NamedConvShape& named : resnet50_conv_shapes(kBatch)) {
    expect_exact_on_small_integers<float>(named, {}, "f32");
    expect_exact_on_small_integers<bf16>(named, {}, "bf16");
  }
}

// The forward's BatchNorm statistics on every ResNet-50 shape with K a multiple of 8 (all).
TEST(Conv2dGpu, EpilogueStatisticsDescribeTheStoredOutput) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const NamedConvShape& named : resnet50_conv_shapes(kBatch))
    expect_epilogue_statistics(named, {});
}

// Backward-data adding into dx (a residual block's two input gradients) on every ResNet-50
// shape, default and wgmma tiles where available: dx = start + the gradient, exact on small
// integers in both precisions.
TEST(Conv2dGpu, BackwardDataAccumulatesIntoDxOnEveryResNet50Shape) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  std::vector<Conv2dKernelOptions> tiles(1);
  if (runtime::wgmma_unavailable_reason().empty())
    for (const Conv2dWgmmaTile shape : {Conv2dWgmmaTile::m128_sync, Conv2dWgmmaTile::m128_async,
                                        Conv2dWgmmaTile::m256_async, Conv2dWgmmaTile::n64_sync})
      tiles.push_back({Conv2dTile::warpgroup, 0, shape});
  for (const NamedConvShape& named : resnet50_conv_shapes(kBatch)) {
    const Conv2dShape& s = named.shape;
    const auto w = small_integers(s.weight_elements(), 5),
               dy = small_integers(s.output_elements(), 6);
    const auto start = small_integers(s.input_elements(), 7);
    std::vector<float> want(s.input_elements());
    cpu::conv2d_backward_data(s, dy.data(), w.data(), want.data());
    for (std::size_t i = 0; i < want.size(); ++i) want[i] += start[i];
    for (const Conv2dKernelOptions& options : tiles) {
      const std::string what = named.name + (options.tile == Conv2dTile::warpgroup
                                                 ? " wgmma " + std::to_string(int(options.wgmma))
                                                 : std::string());
      test::DeviceBuffer<float> d_w(w), d_dy(dy), d_dx(start);
      cuda::conv2d_backward_data(s, d_dy.get(), d_w.get(), d_dx.get(), nullptr, options, true);
      expect_exact(d_dx.download(), want, false, "f32 dx += " + what);
      test::DeviceBuffer<bf16> b_w(to_bf16(w)), b_dy(to_bf16(dy)), b_dx(to_bf16(start));
      cuda::conv2d_backward_data(s, b_dy.get(), b_w.get(), b_dx.get(), nullptr, options, true);
      expect_exact(to_float(b_dx.download()), want, true, "bf16 dx += " + what);
    }
  }
}

// The wgmma tile (Conv2dTile::warpgroup; bf16, all three passes, the forward's statistics
// epilogue included) on every ResNet-50 shape, held to the same checks as the mma.sync tiles. Skips
// where wgmma cannot run (not an H100/H200, or a build without CUDA architecture 90a).
TEST(Conv2dGpu, TheWarpgroupTileMatchesTheCpuBackendOnEveryResNet50Shape) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  if (const std::string reason = runtime::wgmma_unavailable_reason(); !reason.empty())
    GTEST_SKIP() << reason;
  // Every shape of the tile: 128x128 synchronous, with a K step in flight, 256x128, 128x64
  // (m64n64 wgmmas), 64x128 (backward-filter; the other passes fall back to 128x128).
  for (const Conv2dWgmmaTile shape :
       {Conv2dWgmmaTile::m128_sync, Conv2dWgmmaTile::m128_async, Conv2dWgmmaTile::m256_async,
        Conv2dWgmmaTile::n64_sync, Conv2dWgmmaTile::m64_sync}) {
    const Conv2dKernelOptions warpgroup{Conv2dTile::warpgroup, 0, shape};
    const std::string what = "warpgroup " + std::to_string(int(shape));
    for (const NamedConvShape& named : resnet50_conv_shapes(kBatch)) {
      expect_exact_on_small_integers<bf16>(named, warpgroup, what);
      expect_close_on_random_values<bf16>(named, warpgroup, what);
      expect_epilogue_statistics(named, warpgroup);
    }
  }
}

}  // namespace
}  // namespace sombrero::kernels
