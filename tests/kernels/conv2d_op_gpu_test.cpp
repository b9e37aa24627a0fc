// The Conv2d op over Tensors on a real GPU: cuDNN, and the hand-written kernels when this
// build has them, against CPU references: the naive double reference on the edge cases
// (asymmetric padding and dilation included), the CPU backend on every ResNet-50 shape at
// batch 8. f32 and bf16. Skips without a device (cuDNN cases also without cuDNN).
//
// Tolerances (norm-wise relative error ||got - want|| / ||want||, inputs N(0, 1)):
//   f32 1e-4: cuDNN runs f32 with FMA math (no TF32). GEMM-like algorithms sum K = R*S*C (up
//     to 4608) or N*OH*OW (up to 100352) terms in f32, typical error sqrt(K) * 6e-8 < 2e-5;
//     FFT and Winograd algorithms, which cudnnFind may pick, add transform rounding of the
//     same order. A wrong index or a lost padding row gives errors of 1e-2 and more.
//   bf16 1e-2: inputs are bf16 (the reference sees the same rounded values), accumulation is
//     f32, and y, dx are rounded to bf16 (relative error up to 2^-9 = 2e-3 per element; cuDNN
//     also rounds dw to bf16 before it is widened to f32). 1e-2 is the bf16 bound.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv2d_cpu.h"
#include "kernels/conv/resnet_conv_shapes.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "tests/kernels/conv_reference.h"

namespace sombrero::kernels {

// Test names and failure messages show shapes in words instead of their bytes.
void PrintTo(const Conv2dShape& shape, std::ostream* out) {
  *out << shape.to_string();
}
void PrintTo(const NamedConvShape& shape, std::ostream* out) {
  *out << shape.name << " " << shape.shape.to_string();
}

namespace {

using runtime::Device;
using runtime::DType;

Conv2dParams params_of(const Conv2dShape& s, ConvAlgo algo) {
  return Conv2dParams::of(s, algo);
}

std::vector<float> normals(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

template <typename T>
double relative_error(const std::vector<float>& got, const std::vector<T>& want) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = double(got[i]) - double(want[i]);
    diff += d * d;
    norm += double(want[i]) * double(want[i]);
  }
  return std::isfinite(diff) ? std::sqrt(diff / std::max(norm, 1e-300)) : INFINITY;
}

struct Outputs {
  std::vector<float> y, dx, dw, dw_accumulated;
};

// All three passes on the GPU; outputs poisoned (NaN) first, dw_accumulated starts at 1.
Outputs run_on_gpu(const Tensor& x, const Tensor& w, const Tensor& dy, const Conv2dParams& p) {
  const Device gpu = Device::cuda(0);
  const DType dtype = x.dtype();
  const Tensor xg = x.to(gpu), wg = w.to(gpu), dyg = dy.to(gpu);
  Tensor y = Tensor::full(dy.shape(), NAN, dtype, gpu);
  Tensor dx = Tensor::full(x.shape(), NAN, dtype, gpu);
  Tensor dw = Tensor::full(w.shape(), NAN, DType::f32, gpu);  // f32 for both dtypes
  Tensor dw_acc = Tensor::full(w.shape(), 1.0f, DType::f32, gpu);
  conv2d_forward(xg, wg, y, p);
  conv2d_backward_data(dyg, wg, dx, p);
  conv2d_backward_filter(xg, dyg, dw, p, false);
  conv2d_backward_filter(xg, dyg, dw_acc, p, true);
  return {y.to_floats(), dx.to_floats(), dw.to_floats(), dw_acc.to_floats()};
}

// The algorithms this build can run on a GPU: cuDNN (if built in) and the hand-written
// kernels (once they are built in).
std::vector<ConvAlgo> algos() {
  std::vector<ConvAlgo> list;
#if defined(SOMBRERO_HAVE_CUDNN)
  list.push_back(ConvAlgo::cudnn);
#endif
  if (hand_conv2d_available()) list.push_back(ConvAlgo::hand);
  if (hand_conv2d_available() && runtime::wgmma_unavailable_reason().empty())
    list.push_back(ConvAlgo::wgmma);
  return list;
}

std::string skip_reason() {
  if (runtime::cuda_devices().empty())
    return "no CUDA device: " + runtime::cuda_unavailable_reason();
  if (algos().empty()) return "this build has neither cuDNN nor the hand-written kernels";
  return "";
}

void check_against(const Conv2dShape& s, const Outputs& got, const std::vector<double>& y,
                   const std::vector<double>& dx, const std::vector<double>& dw, double tolerance) {
  EXPECT_LT(relative_error(got.y, y), tolerance) << "forward " << s.to_string();
  EXPECT_LT(relative_error(got.dx, dx), tolerance) << "backward_data " << s.to_string();
  EXPECT_LT(relative_error(got.dw, dw), tolerance) << "backward_filter " << s.to_string();
  std::vector<double> dw_plus_one = dw;
  for (double& v : dw_plus_one) v += 1.0;
  EXPECT_LT(relative_error(got.dw_accumulated, dw_plus_one), tolerance)
      << "backward_filter accumulate " << s.to_string();
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

class Conv2dOpGpuEdgeCase : public testing::TestWithParam<Conv2dShape> {};

TEST_P(Conv2dOpGpuEdgeCase, MatchesNaiveReferenceInF32AndBf16) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  const Conv2dShape s = GetParam();
  for (DType dtype : {DType::f32, DType::bf16}) {
    // The reference sees exactly the values the GPU sees (bf16-rounded for bf16).
    const Tensor x = Tensor::from_floats(x_shape(s), normals(s.input_elements(), 1), dtype);
    const Tensor w = Tensor::from_floats(w_shape(s), normals(s.weight_elements(), 2), dtype);
    const Tensor dy = Tensor::from_floats(y_shape(s), normals(s.output_elements(), 3), dtype);
    const auto xv = x.to_floats(), wv = w.to_floats(), dyv = dy.to_floats();
    const auto y = test::reference_conv_forward(s, xv, wv);
    const auto dx = test::reference_conv_backward_data(s, dyv, wv);
    const auto dw = test::reference_conv_backward_filter(s, xv, dyv);
    for (ConvAlgo algo : algos()) {
      SCOPED_TRACE(str(to_string(algo), " ", runtime::dtype_name(dtype)));
      check_against(s, run_on_gpu(x, w, dy, params_of(s, algo)), y, dx, dw,
                    dtype == DType::f32 ? 1e-4 : 1e-2);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EdgeCases, Conv2dOpGpuEdgeCase,
                         testing::ValuesIn(test::conv_edge_cases()));

class Conv2dOpGpuResNet50 : public testing::TestWithParam<NamedConvShape> {};

TEST_P(Conv2dOpGpuResNet50, MatchesCpuBackendAtBatch8InF32AndBf16) {
  if (const std::string why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  const Conv2dShape s = GetParam().shape;
  for (DType dtype : {DType::f32, DType::bf16}) {
    const Tensor x = Tensor::from_floats(x_shape(s), normals(s.input_elements(), 4), dtype);
    const Tensor w = Tensor::from_floats(w_shape(s), normals(s.weight_elements(), 5), dtype);
    const Tensor dy = Tensor::from_floats(y_shape(s), normals(s.output_elements(), 6), dtype);
    // The CPU backend (itself tested against the naive reference) on the same values.
    const auto xv = x.to_floats(), wv = w.to_floats(), dyv = dy.to_floats();
    std::vector<float> y(s.output_elements()), dx(s.input_elements()), dw(s.weight_elements());
    cpu::conv2d_forward(s, xv.data(), wv.data(), y.data());
    cpu::conv2d_backward_data(s, dyv.data(), wv.data(), dx.data());
    cpu::conv2d_backward_filter(s, xv.data(), dyv.data(), dw.data(), false);
    const std::vector<double> yd(y.begin(), y.end()), dxd(dx.begin(), dx.end()),
        dwd(dw.begin(), dw.end());
    for (ConvAlgo algo : algos()) {
      SCOPED_TRACE(str(GetParam().name, " ", to_string(algo), " ", runtime::dtype_name(dtype)));
      check_against(s, run_on_gpu(x, w, dy, params_of(s, algo)), yd, dxd, dwd,
                    dtype == DType::f32 ? 1e-4 : 1e-2);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2dOpGpuResNet50, testing::ValuesIn(resnet50_conv_shapes(8)),
                         [](const testing::TestParamInfo<NamedConvShape>& info) {
                           std::string name = info.param.name;
                           for (char& c : name)
                             if (c == '.') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace sombrero::kernels
