// The cuBLAS fully connected layer (kernels/linear/linear_cublas.cpp) on a real GPU against the
// CPU backend (OpenBLAS), f32 and bf16, forward with bias, backward-data, backward-weight with
// accumulation and the bias gradient. cuBLAS's summation order is its own, so each element is
// held to the bound of a k-term f32 dot product: |got - want| <= 2 k u sum_j |a_j b_j| (u =
// 2^-24; the abs sums come from the same GEMM on |a|, |b|), plus, for bf16 outputs, half a
// bf16 ulp of the GEMM result (<= 2^-8 sum|a b|) and of y + bias (<= 2^-8 |y|): two roundings.
// Skips with a message when no CUDA device is present.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/linear/linear.h"
#include "runtime/cuda_context.h"
#include "runtime/device_info.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {
using test::as;
using test::widen;

using test::DeviceBuffer;

std::vector<float> abs_of(std::vector<float> v) {
  for (float& x : v) x = std::abs(x);
  return v;
}

void expect_within(const std::vector<float>& got, const std::vector<float>& want,
                   const std::vector<float>& abs_sums, int k, bool bf16_output, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  int failures = 0;
  for (std::size_t i = 0; i < got.size() && failures < 5; ++i) {
    const double bound =
        2.0 * k * std::ldexp(double(abs_sums[i]), -24) +
        (bf16_output ? std::ldexp(std::abs(double(want[i])) + abs_sums[i], -8) : 0.0) + 1e-30;
    if (std::abs(double(got[i]) - want[i]) > bound) {
      ++failures;
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", want " << want[i] << " +- "
                    << bound;
    }
  }
}

template <typename T>
void check_linear(int batch, int in, int out) {
  const bool b16 = !std::is_same_v<T, float>;
  const std::vector<float> x =
      test::rounded_to_bf16(test::random_values(std::size_t(batch) * in, 1));
  const std::vector<float> w = test::rounded_to_bf16(test::random_values(std::size_t(out) * in, 2));
  const std::vector<float> dy =
      test::rounded_to_bf16(test::random_values(std::size_t(batch) * out, 3));
  const std::vector<float> bias = test::random_values(std::size_t(out), 4);
  const std::vector<float> dw0 = test::random_values(std::size_t(out) * in, 5);
  const std::vector<float> db0(std::size_t(out), 0.5f);
  std::vector<float> y(std::size_t(batch) * out), dx(std::size_t(batch) * in), dw = dw0, db = db0;
  cpu::linear_forward(batch, in, out, x.data(), w.data(), bias.data(), y.data());
  cpu::linear_backward_data(batch, in, out, dy.data(), w.data(), dx.data());
  cpu::linear_backward_weight(batch, in, out, x.data(), dy.data(), dw.data(), db.data());
  // Bounds: the same products on absolute values (bias and accumulated terms included).
  std::vector<float> abs_y(y.size()), abs_dx(dx.size()), abs_dw = abs_of(dw0), abs_db = abs_of(db0);
  const std::vector<float> ax = abs_of(x), aw = abs_of(w), ady = abs_of(dy), ab = abs_of(bias);
  cpu::linear_forward(batch, in, out, ax.data(), aw.data(), ab.data(), abs_y.data());
  cpu::linear_backward_data(batch, in, out, ady.data(), aw.data(), abs_dx.data());
  cpu::linear_backward_weight(batch, in, out, ax.data(), ady.data(), abs_dw.data(), abs_db.data());

  cublasHandle_t handle = runtime::CudaContext::get(0).cublas();
  cudaStream_t stream = runtime::CudaContext::get(0).stream();
  DeviceBuffer<T> d_x(as<T>(x)), d_w(as<T>(w)), d_dy(as<T>(dy)), d_y{as<T>(y)}, d_dx{as<T>(dx)};
  DeviceBuffer<float> d_bias(bias), d_dw(dw0), d_db(db0),
      d_ws{std::vector<float>(cuda::linear_bias_workspace_floats(batch, out))};
  cuda::linear_forward(handle, batch, in, out, d_x.get(), d_w.get(), d_bias.get(), d_y.get(),
                       stream);
  cuda::linear_backward_data(handle, batch, in, out, d_dy.get(), d_w.get(), d_dx.get(), stream);
  cuda::linear_backward_weight(handle, batch, in, out, d_x.get(), d_dy.get(), d_dw.get(),
                               d_db.get(), d_ws.get(), stream);
  expect_within(widen(d_y.download()), y, abs_y, in + 1, b16, "y");
  expect_within(widen(d_dx.download()), dx, abs_dx, out, b16, "dx");
  expect_within(d_dw.download(), dw, abs_dw, batch + 1, false, "dw");
  expect_within(d_db.download(), db, abs_db, batch + 1, false, "dbias");
}

TEST(LinearCublasGpu, MatchesTheCpuBackend) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  check_linear<float>(64, 2048, 1000);  // ResNet-50's fc
  check_linear<bf16>(64, 2048, 1000);
  check_linear<float>(3, 17, 5);  // odd sizes
  check_linear<bf16>(3, 17, 5);
}

}  // namespace
}  // namespace sombrero::kernels
