// CPU backend of the convolution against the naive double reference: tolerance on random
// inputs, bit-exactness on small-integer inputs (edge cases and every ResNet-50 shape), and
// finite differences of the backward passes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/conv/conv2d_cpu.h"
#include "kernels/conv/resnet_conv_shapes.h"
#include "runtime/error.h"
#include "tests/kernels/conv_reference.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::random_values;
using test::relative_error;
using test::small_integers;

void expect_exact(const std::vector<float>& got, const std::vector<double>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (double(got[i]) != want[i] && mismatches++ < 3)
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", want " << want[i];
  EXPECT_EQ(mismatches, 0u) << what;
}

class Conv2dCpuEdgeCase : public testing::TestWithParam<Conv2dShape> {};

TEST_P(Conv2dCpuEdgeCase, AllPassesMatchReferenceWithinF32Rounding) {
  const Conv2dShape s = GetParam();
  const auto x = random_values(s.input_elements(), 1), w = random_values(s.weight_elements(), 2);
  const auto dy = random_values(s.output_elements(), 3);
  std::vector<float> y(s.output_elements(), NAN), dx(s.input_elements(), NAN),
      dw(s.weight_elements(), NAN);
  cpu::conv2d_forward(s, x.data(), w.data(), y.data());
  cpu::conv2d_backward_data(s, dy.data(), w.data(), dx.data());
  cpu::conv2d_backward_filter(s, x.data(), dy.data(), dw.data(), false);
  // f32 sums of <= a few thousand unit-size terms: relative error ~1e-7 * sqrt(terms).
  EXPECT_LT(relative_error(y, test::reference_conv_forward(s, x, w)), 1e-5) << s.to_string();
  EXPECT_LT(relative_error(dx, test::reference_conv_backward_data(s, dy, w)), 1e-5)
      << s.to_string();
  EXPECT_LT(relative_error(dw, test::reference_conv_backward_filter(s, x, dy)), 1e-5)
      << s.to_string();
}

TEST_P(Conv2dCpuEdgeCase, SmallIntegerInputsGiveBitExactResults) {
  const Conv2dShape s = GetParam();
  const auto x = small_integers(s.input_elements(), 4), w = small_integers(s.weight_elements(), 5);
  const auto dy = small_integers(s.output_elements(), 6);
  std::vector<float> y(s.output_elements()), dx(s.input_elements()), dw(s.weight_elements(), 1.0f);
  cpu::conv2d_forward(s, x.data(), w.data(), y.data());
  cpu::conv2d_backward_data(s, dy.data(), w.data(), dx.data());
  cpu::conv2d_backward_filter(s, x.data(), dy.data(), dw.data(), /*accumulate=*/true);
  expect_exact(y, test::reference_conv_forward(s, x, w), "y");
  expect_exact(dx, test::reference_conv_backward_data(s, dy, w), "dx");
  std::vector<double> dw_want = test::reference_conv_backward_filter(s, x, dy);
  for (double& v : dw_want) v += 1.0;  // accumulated onto 1
  expect_exact(dw, dw_want, "dw");
}

INSTANTIATE_TEST_SUITE_P(EdgeCases, Conv2dCpuEdgeCase, testing::ValuesIn(test::conv_edge_cases()));

TEST(Conv2dCpu, EveryResNet50ShapeIsBitExactOnSmallIntegers) {
  for (const NamedConvShape& named : resnet50_conv_shapes(1)) {
    const Conv2dShape& s = named.shape;
    const auto x = small_integers(s.input_elements(), 7),
               w = small_integers(s.weight_elements(), 8);
    std::vector<float> y(s.output_elements());
    cpu::conv2d_forward(s, x.data(), w.data(), y.data());
    expect_exact(y, test::reference_conv_forward(s, x, w), named.name);
  }
}

// L = sum(y * g) is linear in x and in w, so its central difference in double is exact up
// to rounding: it checks backward-data and backward-filter against the forward definition.
TEST(Conv2dCpu, BackwardPassesMatchFiniteDifferencesOfTheForward) {
  Conv2dShape s;
  s.batch = 2;
  s.in_height = 5;
  s.in_width = 6;
  s.in_channels = 3;
  s.out_channels = 4;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = 2;
  s.pad_top = s.pad_left = 1;
  s.pad_bottom = 0;
  s.pad_right = 1;
  auto x = random_values(s.input_elements(), 9), w = random_values(s.weight_elements(), 10);
  const auto g = random_values(s.output_elements(), 11);
  std::vector<float> dx(s.input_elements()), dw(s.weight_elements());
  cpu::conv2d_backward_data(s, g.data(), w.data(), dx.data());
  cpu::conv2d_backward_filter(s, x.data(), g.data(), dw.data(), false);
  auto loss = [&](const std::vector<double>& xd, const std::vector<double>& wd) {
    const std::vector<double> y = test::reference_conv_forward(s, xd, wd);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += y[i] * g[i];
    return l;
  };
  std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end());
  const double h = 1e-3;
  for (std::size_t i = 0; i < xd.size(); ++i) {
    auto up = xd, down = xd;
    up[i] += h;
    down[i] -= h;
    EXPECT_NEAR(dx[i], (loss(up, wd) - loss(down, wd)) / (2 * h), 1e-4) << "dx[" << i << "]";
  }
  for (std::size_t i = 0; i < wd.size(); ++i) {
    auto up = wd, down = wd;
    up[i] += h;
    down[i] -= h;
    EXPECT_NEAR(dw[i], (loss(xd, up) - loss(xd, down)) / (2 * h), 1e-4) << "dw[" << i << "]";
  }
}

TEST(Conv2dShapeCheck, RefusesInvalidShapesNamingTheSizes) {
  Conv2dShape s;
  s.in_height = s.in_width = 2;
  s.kernel_h = s.kernel_w = 3;
  try {
    check_conv2d_shape(s);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("calculated output size (0x0) is too small"),
              std::string::npos)
        << e.what();
  }
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  EXPECT_NO_THROW(check_conv2d_shape(s));
  EXPECT_EQ(s.out_height(), 2);
  s.stride_h = 0;
  EXPECT_THROW(check_conv2d_shape(s), Error);
  s.stride_h = 2;
  s.pad_left = -1;
  EXPECT_THROW(check_conv2d_shape(s), Error);
}

TEST(Conv2dShapeCheck, OutputSizesFollowPyTorch) {
  Conv2dShape stem = resnet50_conv_shapes(1)[0].shape;  // 224, 7x7, stride 2, pad 3
  EXPECT_EQ(stem.out_height(), 112);
  Conv2dShape s;
  s.in_height = 7;
  s.in_width = 8;
  s.kernel_h = s.kernel_w = 3;
  s.stride_h = s.stride_w = 2;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  EXPECT_EQ(s.out_height(), 4);  // floor((7 + 2 - 3) / 2) + 1
  EXPECT_EQ(s.out_width(), 4);   // floor((8 + 2 - 3) / 2) + 1
  s.dilation_h = 2;
  EXPECT_EQ(s.out_height(), 3);  // floor((7 + 2 - 5) / 2) + 1
}

}  // namespace
}  // namespace sombrero::kernels
