// The Conv2d op over Tensors on the CPU: algorithm names, the shape / dtype / device checks
// and their messages, and CPU dispatch (bit-exact against the naive reference on
// small-integer inputs, and identical to calling the CPU backend directly).
#include "kernels/conv/conv2d.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/conv/conv2d_cpu.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "tests/kernels/conv_reference.h"
#include "tests/runtime/error_of.h"

namespace sombrero::kernels {
namespace {

using runtime::Device;
using runtime::DType;
using test_support::error_of;
using testing::HasSubstr;

// Integers in [-2, 2]: every partial sum is an exact f32 integer for these shapes, so any
// correct implementation matches the double reference bit for bit.
std::vector<float> small_integers(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(int(rng() % 5) - 2);
  return v;
}

Conv2dParams params_of(const Conv2dShape& s, ConvAlgo algo = ConvAlgo::hand) {
  return Conv2dParams::of(s, algo);
}

Shape x_shape(const Conv2dShape& s) {
  return {s.batch, s.in_height, s.in_width, s.in_channels};
}
Shape w_shape(const Conv2dShape& s) {
  return {s.out_channels, s.kernel_h, s.kernel_w, s.in_channels};
}
Shape y_shape(const Conv2dShape& s) {
  return {s.batch, s.out_height(), s.out_width(), s.out_channels};
}

void expect_exact(const std::vector<float>& got, const std::vector<double>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (double(got[i]) != want[i] && mismatches++ < 3)
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", want " << want[i];
  EXPECT_EQ(mismatches, 0u) << what;
}

TEST(ConvAlgo, ParsesNamesAndSuggestsOnTypos) {
  EXPECT_EQ(parse_conv_algo("hand"), ConvAlgo::hand);
  EXPECT_EQ(parse_conv_algo("cudnn"), ConvAlgo::cudnn);
  EXPECT_EQ(parse_conv_algo("wgmma"), ConvAlgo::wgmma);
  EXPECT_STREQ(to_string(ConvAlgo::hand), "hand");
  EXPECT_STREQ(to_string(ConvAlgo::wgmma), "wgmma");
  EXPECT_EQ(kernel_options(ConvAlgo::wgmma).tile, Conv2dTile::warpgroup);
  EXPECT_EQ(kernel_options(ConvAlgo::hand).tile, Conv2dTile::automatic);
  EXPECT_STREQ(to_string(ConvAlgo::cudnn), "cudnn");
  EXPECT_THAT(error_of([] { parse_conv_algo("cudn"); }),
              HasSubstr("unknown convolution algorithm 'cudn', did you mean 'cudnn'?"));
  EXPECT_THAT(error_of([] { parse_conv_algo("winograd"); }),
              HasSubstr("choose hand, wgmma or cudnn"));
}

TEST(ConvAlgo, WgmmaTileNamesParseAndTyposAreNamed) {
  EXPECT_EQ(parse_wgmma_tile(""), Conv2dWgmmaTile::automatic);
  EXPECT_EQ(parse_wgmma_tile("auto"), Conv2dWgmmaTile::automatic);
  EXPECT_EQ(parse_wgmma_tile("m128_sync"), Conv2dWgmmaTile::m128_sync);
  EXPECT_EQ(parse_wgmma_tile("m128_async"), Conv2dWgmmaTile::m128_async);
  EXPECT_EQ(parse_wgmma_tile("m256_async"), Conv2dWgmmaTile::m256_async);
  EXPECT_EQ(parse_wgmma_tile("n64_sync"), Conv2dWgmmaTile::n64_sync);
  EXPECT_EQ(parse_wgmma_tile("m64_sync"), Conv2dWgmmaTile::m64_sync);
  EXPECT_THAT(error_of([] { parse_wgmma_tile("m256"); }),
              HasSubstr("SOMBRERO_WGMMA_TILE: unknown wgmma tile 'm256'"));
  EXPECT_THAT(error_of([] { parse_wgmma_tile("n64_sinc"); }), HasSubstr("did you mean 'n64_sync'"));
}

// "auto" is wgmma only for bf16 on a CUDA device that runs it; explicit names pass through.
TEST(ConvAlgo, AutoIsHandOffHopperAndExplicitNamesPassThrough) {
  const runtime::Device cpu = runtime::Device::cpu(), simt = runtime::Device::simt();
  EXPECT_EQ(choose_conv_algo("auto", cpu, true), ConvAlgo::hand);
  EXPECT_EQ(choose_conv_algo("auto", simt, true), ConvAlgo::hand);
  EXPECT_EQ(choose_conv_algo("wgmma", simt, false), ConvAlgo::wgmma);
  EXPECT_EQ(choose_conv_algo("cudnn", cpu, true), ConvAlgo::cudnn);
  if (!runtime::cuda_devices().empty()) {
    const runtime::Device gpu = runtime::Device::cuda(0);
    EXPECT_EQ(choose_conv_algo("auto", gpu, false), ConvAlgo::hand);  // f32: no wgmma tile
    EXPECT_EQ(choose_conv_algo("auto", gpu, true),
              runtime::wgmma_unavailable_reason().empty() ? ConvAlgo::wgmma : ConvAlgo::hand);
  }
  EXPECT_THAT(error_of([] { choose_conv_algo("atuo", runtime::Device::cpu(), true); }),
              HasSubstr("unknown convolution algorithm 'atuo', did you mean 'auto'?"));
}

TEST(Conv2dShapeOfTensors, GivesPyTorchOutputShape) {
  EXPECT_EQ(conv2d_output_shape({8, 224, 224, 3}, {64, 7, 7, 3}, Conv2dParams::same(7, 2)),
            Shape({8, 112, 112, 64}));
  EXPECT_EQ(
      conv2d_output_shape({2, 5, 6, 12}, {7, 3, 3, 12}, params_of(test::conv_edge_cases()[6])),
      y_shape(test::conv_edge_cases()[6]));
  const Conv2dShape s = conv2d_shape({2, 9, 9, 6}, {5, 3, 3, 6}, Conv2dParams::symmetric(1, 2));
  EXPECT_EQ(s.out_height(), 11);
  EXPECT_EQ(s.out_channels, 5);
}

TEST(Conv2dChecks, ChannelMismatchNamesBothShapes) {
  const Tensor x = Tensor::zeros({2, 8, 8, 16});
  const Tensor w = Tensor::zeros({4, 3, 3, 8});
  Tensor y = Tensor::zeros({2, 8, 8, 4});
  EXPECT_THAT(error_of([&] { conv2d_forward(x, w, y, Conv2dParams::same(3, 1)); }),
              HasSubstr("conv2d_forward: x [2, 8, 8, 16] has 16 channels but w [4, 3, 3, 8] "
                        "expects 8"));
}

TEST(Conv2dChecks, WrongOutputShapeNamesTheExpectedOne) {
  const Tensor x = Tensor::zeros({2, 8, 8, 16});
  const Tensor w = Tensor::zeros({4, 3, 3, 16});
  Tensor y = Tensor::zeros({2, 8, 8, 4});
  EXPECT_THAT(error_of([&] { conv2d_forward(x, w, y, Conv2dParams::same(3, 2)); }),
              HasSubstr("y is [2, 8, 8, 4] but x [2, 8, 8, 16] and w [4, 3, 3, 16] with stride "
                        "2,2 pad 1,1,1,1 dilation 1,1 give [2, 4, 4, 4]"));
  Tensor dx = Tensor::zeros({2, 8, 8, 16});
  const Tensor dy = Tensor::zeros({2, 8, 8, 5});
  EXPECT_THAT(error_of([&] { conv2d_backward_data(dy, w, dx, Conv2dParams::same(3, 1)); }),
              HasSubstr("conv2d_backward_data: dy is [2, 8, 8, 5] but dx [2, 8, 8, 16] and w "
                        "[4, 3, 3, 16]"));
  Tensor dw = Tensor::zeros({4, 1, 1, 16});
  EXPECT_THAT(
      error_of([&] { conv2d_backward_filter(x, y, dw, Conv2dParams::same(3, 1), false); }),
      HasSubstr("conv2d_backward_filter: dy is [2, 8, 8, 4] but x [2, 8, 8, 16] and dw "
                "[4, 1, 1, 16] with stride 1,1 pad 1,1,1,1 dilation 1,1 give [2, 10, 10, 4]"));
}

TEST(Conv2dChecks, RankEmptyOutputAndUndefinedTensors) {
  const Tensor w = Tensor::zeros({4, 3, 3, 16});
  Tensor y = Tensor::zeros({2, 8, 8, 4});
  EXPECT_THAT(error_of([&] {
                conv2d_forward(Tensor::zeros({8, 8, 16}), w, y, Conv2dParams::same(3, 1));
              }),
              HasSubstr("x must be NHWC [N, H, W, C], got [8, 8, 16]"));
  EXPECT_THAT(error_of([&] {
                conv2d_forward(Tensor::zeros({2, 8, 8, 16}), Tensor::zeros({4, 9, 16}), y,
                               Conv2dParams::same(3, 1));
              }),
              HasSubstr("w must be KRSC"));
  EXPECT_THAT(error_of([&] {
                conv2d_forward(Tensor::zeros({1, 2, 2, 16}), w, y, Conv2dParams::symmetric(1, 0));
              }),
              HasSubstr("x [1, 2, 2, 16] and w [4, 3, 3, 16]: conv2d: calculated output size"));
  EXPECT_THAT(error_of([&] { conv2d_forward(Tensor(), w, y, Conv2dParams::same(3, 1)); }),
              HasSubstr("conv2d_forward: x is an undefined tensor"));
}

TEST(Conv2dChecks, MixedDtypesAndBf16OnTheCpuAreErrors) {
  const Tensor x = Tensor::zeros({1, 4, 4, 2});
  const Tensor w16 = Tensor::zeros({3, 3, 3, 2}, DType::bf16);
  Tensor y = Tensor::zeros({1, 4, 4, 3});
  EXPECT_THAT(error_of([&] { conv2d_forward(x, w16, y, Conv2dParams::same(3, 1)); }),
              HasSubstr("x is f32 but w is bf16; all tensors of a convolution share one dtype"));
  const Tensor x16 = Tensor::zeros({1, 4, 4, 2}, DType::bf16);
  Tensor y16 = Tensor::zeros({1, 4, 4, 3}, DType::bf16);
  EXPECT_THAT(error_of([&] { conv2d_forward(x16, w16, y16, Conv2dParams::same(3, 1)); }),
              HasSubstr("the CPU backend computes in f32 only"));
  Tensor dw16 = Tensor::zeros({3, 3, 3, 2}, DType::bf16);
  EXPECT_THAT(error_of([&] {
                conv2d_backward_filter(x, Tensor::zeros({1, 4, 4, 3}), dw16,
                                       Conv2dParams::same(3, 1), false);
              }),
              HasSubstr("dw must be f32 (the gradient of f32 master weights, also for f32 x and "
                        "dy), got bf16"));
}

TEST(Conv2dChecks, MixedDevicesAreErrors) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "needs a CUDA device to make a tensor on another device";
  const Tensor x = Tensor::zeros({1, 4, 4, 2});
  const Tensor w = Tensor::zeros({3, 3, 3, 2}, DType::f32, Device::cuda(0));
  Tensor y = Tensor::zeros({1, 4, 4, 3});
  EXPECT_THAT(error_of([&] { conv2d_forward(x, w, y, Conv2dParams::same(3, 1)); }),
              HasSubstr("x is on cpu but w is on cuda:0"));
}

class Conv2dCpuDispatch : public testing::TestWithParam<Conv2dShape> {};

// Every pass through the op equals the naive reference exactly, for either algo (the CPU has
// one backend), and backward-filter accumulates on request.
TEST_P(Conv2dCpuDispatch, AllPassesMatchReferenceBitForBit) {
  const Conv2dShape s = GetParam();
  const auto xv = small_integers(s.input_elements(), 1);
  const auto wv = small_integers(s.weight_elements(), 2);
  const auto dyv = small_integers(s.output_elements(), 3);
  const Tensor x = Tensor::from_floats(x_shape(s), xv);
  const Tensor w = Tensor::from_floats(w_shape(s), wv);
  const Tensor dy = Tensor::from_floats(y_shape(s), dyv);
  const auto want_y = test::reference_conv_forward(s, xv, wv);
  const auto want_dx = test::reference_conv_backward_data(s, dyv, wv);
  const auto want_dw = test::reference_conv_backward_filter(s, xv, dyv);
  for (ConvAlgo algo : {ConvAlgo::hand, ConvAlgo::wgmma, ConvAlgo::cudnn}) {
    SCOPED_TRACE(to_string(algo));
    const Conv2dParams p = params_of(s, algo);
    Tensor y = Tensor::full(y_shape(s), NAN);
    conv2d_forward(x, w, y, p);
    expect_exact(y.to_floats(), want_y, "y");
    Tensor dx = Tensor::full(x_shape(s), NAN);
    conv2d_backward_data(dy, w, dx, p);
    expect_exact(dx.to_floats(), want_dx, "dx");
    Tensor dw = Tensor::full(w_shape(s), NAN);
    conv2d_backward_filter(x, dy, dw, p, false);
    expect_exact(dw.to_floats(), want_dw, "dw");
    Tensor dw_acc = Tensor::full(w_shape(s), 3.0f);
    conv2d_backward_filter(x, dy, dw_acc, p, true);
    std::vector<double> want_acc = want_dw;
    for (double& v : want_acc) v += 3.0;
    expect_exact(dw_acc.to_floats(), want_acc, "dw accumulated");
  }
}

INSTANTIATE_TEST_SUITE_P(EdgeCases, Conv2dCpuDispatch, testing::ValuesIn(test::conv_edge_cases()));

TEST(Conv2dCpuDispatch, SameAsCallingTheCpuBackendOnRandomInputs) {
  const Conv2dShape s = test::conv_edge_cases()[4];  // 7x7 stride 2
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> xv(s.input_elements()), wv(s.weight_elements());
  for (float& v : xv) v = normal(rng);
  for (float& v : wv) v = normal(rng);
  Tensor y = Tensor::zeros(y_shape(s));
  conv2d_forward(Tensor::from_floats(x_shape(s), xv), Tensor::from_floats(w_shape(s), wv), y,
                 params_of(s));
  std::vector<float> direct(s.output_elements());
  cpu::conv2d_forward(s, xv.data(), wv.data(), direct.data());
  EXPECT_EQ(y.to_floats(), direct);
}

}  // namespace
}  // namespace sombrero::kernels
