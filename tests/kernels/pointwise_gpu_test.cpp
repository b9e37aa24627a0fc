// The elementwise layer kernels (pointwise.cu) on a real GPU against the CPU backend: bit for
// bit in f32 (no sums, no contractible products), bf16 equal to the rounding of the f32
// results; bias_backward bit for bit against the SIMT execution and within the summation
// bound of the CPU's; both paths of the elementwise kernels (16-byte vectors with a scalar
// tail, and one element per access on views offset by one element). Skips with a message
// when no CUDA device is present.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/pointwise/pointwise.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::DeviceBuffer;

TEST(PointwiseGpu, MatchesTheCpuBackend) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const int rows = 32 * 28 * 28, channels = 128;  // past the grid cap: grid-stride loops
  const std::size_t n = std::size_t(rows) * channels;
  const std::vector<float> x = test::rounded_to_bf16(test::random_values(n, 1));
  const std::vector<float> b = test::rounded_to_bf16(test::random_values(n, 2));
  const std::vector<float> bias = test::random_values(std::size_t(channels), 3);
  std::vector<float> relu(n), drelu(n), sum(n), biased = b, dbias(std::size_t(channels), 0.5f);
  cpu::relu_forward(std::int64_t(n), x.data(), relu.data());
  cpu::relu_backward(std::int64_t(n), x.data(), b.data(), drelu.data());
  cpu::add(std::int64_t(n), x.data(), b.data(), sum.data());
  cpu::bias_add(rows, channels, bias.data(), biased.data());
  cpu::bias_backward(rows, channels, b.data(), dbias.data());

  DeviceBuffer<float> d_x(x), d_b(b), d_bias(bias), d_out{std::vector<float>(n)}, d_biased(b),
      d_dbias{std::vector<float>(std::size_t(channels), 0.5f)},
      d_ws{std::vector<float>(bias_backward_workspace_floats(rows, channels))};
  cuda::relu_forward(std::int64_t(n), d_x.get(), d_out.get(), nullptr);
  EXPECT_EQ(d_out.download(), relu);
  cuda::relu_backward(std::int64_t(n), d_x.get(), d_b.get(), d_out.get(), nullptr);
  EXPECT_EQ(d_out.download(), drelu);
  cuda::add(std::int64_t(n), d_x.get(), d_b.get(), d_out.get(), nullptr);
  EXPECT_EQ(d_out.download(), sum);
  cuda::bias_add(rows, channels, d_bias.get(), d_biased.get(), nullptr);
  EXPECT_EQ(d_biased.download(), biased);
  cuda::bias_backward(rows, channels, d_b.get(), d_dbias.get(), d_ws.get(), nullptr);
  const std::vector<float> got_dbias = d_dbias.download();
  for (int c = 0; c < channels; ++c) {
    double abs_sum = 0;
    for (int r = 0; r < rows; ++r) abs_sum += std::abs(b[std::size_t(r) * channels + c]);
    // f32 chains of rows / 2048 + 8 = 106 terms per thread, then double: 128 u sum|dy|.
    EXPECT_NEAR(got_dbias[std::size_t(c)], dbias[std::size_t(c)], 128 * std::ldexp(abs_sum, -24));
  }
  std::vector<float> simt_dbias(std::size_t(channels), 0.5f),
      workspace(bias_backward_workspace_floats(rows, channels));
  simt::bias_backward(rows, channels, b.data(), simt_dbias.data(), workspace.data(), nullptr);
  EXPECT_EQ(got_dbias, simt_dbias);

  // bf16: the rounding of the f32 results.
  DeviceBuffer<bf16> h_x(test::to_bf16(x)), h_b(test::to_bf16(b)), h_out{std::vector<bf16>(n)},
      h_biased(test::to_bf16(b));
  cuda::relu_forward(std::int64_t(n), h_x.get(), h_out.get(), nullptr);
  EXPECT_EQ(test::to_float(h_out.download()), test::rounded_to_bf16(relu));
  cuda::add(std::int64_t(n), h_x.get(), h_b.get(), h_out.get(), nullptr);
  EXPECT_EQ(test::to_float(h_out.download()), test::rounded_to_bf16(sum));
  cuda::add_inplace(std::int64_t(n), h_x.get(), h_b.get(), nullptr);
  EXPECT_EQ(test::to_float(h_b.download()), test::rounded_to_bf16(sum));
  cuda::bias_add(rows, channels, d_bias.get(), h_biased.get(), nullptr);
  EXPECT_EQ(test::to_float(h_biased.download()), test::rounded_to_bf16(biased));
}

// Both paths on the device: views of the same buffers at offset 0 (16-byte aligned:
// cudaMalloc; the vector path, n odd so it has a scalar tail) and offset 1 (one element per
// access), f32 and bf16; the element before a view stays untouched.
template <typename T>
void check_paths(std::size_t offset) {
  const int rows = 1001, channels = 64;  // 64: vectors in f32 and bf16 when aligned
  const std::size_t n = std::size_t(rows) * channels - 3, size = std::size_t(rows) * channels + 1;
  const std::vector<float> x = test::rounded_to_bf16(test::random_values(size, 4));
  const std::vector<float> b = test::rounded_to_bf16(test::random_values(size, 5));
  const std::vector<float> bias = test::random_values(std::size_t(channels), 6);
  std::vector<float> relu(size, 0.0f), drelu = b, sum(size, 0.0f), biased = b;
  cpu::relu_forward(std::int64_t(n), x.data() + offset, relu.data() + offset);
  cpu::relu_backward(std::int64_t(n), x.data() + offset, b.data() + offset, drelu.data() + offset);
  cpu::add(std::int64_t(n), x.data() + offset, b.data() + offset, sum.data() + offset);
  cpu::bias_add(rows, channels, bias.data(), biased.data() + offset);
  const auto expected = [](const std::vector<float>& v) {
    return std::is_same_v<T, float> ? v : test::rounded_to_bf16(v);
  };
  const std::string where =
      sombrero::str(std::is_same_v<T, float> ? "f32" : "bf16", ", offset ", offset);
  DeviceBuffer<T> d_x(test::as<T>(x)), d_b(test::as<T>(b)), d_out{std::vector<T>(size)},
      d_grad(test::as<T>(b));
  DeviceBuffer<float> d_bias(bias);
  cuda::relu_forward(std::int64_t(n), d_x.get() + offset, d_out.get() + offset, nullptr);
  EXPECT_EQ(test::widen(d_out.download()), expected(relu)) << "relu_forward, " << where;
  cuda::relu_backward(std::int64_t(n), d_x.get() + offset, d_grad.get() + offset,
                      d_grad.get() + offset, nullptr);  // in place: dx = dy
  EXPECT_EQ(test::widen(d_grad.download()), expected(drelu)) << "relu_backward, " << where;
  DeviceBuffer<T> d_sum{std::vector<T>(size)}, d_acc(test::as<T>(b)), d_biased(test::as<T>(b));
  cuda::add(std::int64_t(n), d_x.get() + offset, d_b.get() + offset, d_sum.get() + offset, nullptr);
  EXPECT_EQ(test::widen(d_sum.download()), expected(sum)) << "add, " << where;
  cuda::add_inplace(std::int64_t(n), d_x.get() + offset, d_acc.get() + offset, nullptr);
  std::vector<float> acc = b;
  for (std::size_t i = offset; i < offset + n; ++i) acc[i] = sum[i];
  EXPECT_EQ(test::widen(d_acc.download()), expected(acc)) << "add_inplace, " << where;
  cuda::bias_add(rows, channels, d_bias.get(), d_biased.get() + offset, nullptr);
  EXPECT_EQ(test::widen(d_biased.download()), expected(biased)) << "bias_add, " << where;
}

TEST(PointwiseGpu, VectorAndScalarPathsMatchTheCpuBackend) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const std::size_t offset : {std::size_t(0), std::size_t(1)}) {
    check_paths<float>(offset);
    check_paths<bf16>(offset);
  }
}

// The channel padding (Conv2d's RGB stem, 3 -> 8 channels: one 16-byte vector per pixel)
// and the option-A shortcut (stride 2, channels padded on both sides): pure copies, so bit
// for bit equal to the CPU backend in both precisions, forward and backward.
template <typename T>
void check_channel_pad(const ChannelPadShape& s) {
  const std::vector<float> x =
      test::rounded_to_bf16(test::random_values(std::size_t(s.input_elements()), 11));
  const std::vector<float> dy =
      test::rounded_to_bf16(test::random_values(std::size_t(s.output_elements()), 12));
  std::vector<float> y(dy.size()), dx(x.size());
  cpu::channel_pad_subsample_forward(s, x.data(), y.data());
  cpu::channel_pad_subsample_backward(s, dy.data(), dx.data());
  DeviceBuffer<T> d_x(test::as<T>(x)), d_dy(test::as<T>(dy)), d_y{std::vector<T>(dy.size())},
      d_dx{std::vector<T>(x.size())};
  cuda::channel_pad_subsample_forward(s, d_x.get(), d_y.get(), nullptr);
  cuda::channel_pad_subsample_backward(s, d_dy.get(), d_dx.get(), nullptr);
  const std::string what = std::string(std::is_same_v<T, float> ? "f32" : "bf16") + " " +
                           std::to_string(s.in_channels) + " -> " + std::to_string(s.out_channels);
  EXPECT_EQ(test::widen(d_y.download()), y) << "forward " << what;
  EXPECT_EQ(test::widen(d_dx.download()), dx) << "backward " << what;
}

TEST(PointwiseGpu, ChannelPaddingEqualsTheCpuBackend) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const ChannelPadShape s :
       {ChannelPadShape{4, 224, 224, 3, 8, 1, 0}, ChannelPadShape{8, 56, 56, 64, 128, 2}}) {
    check_channel_pad<float>(s);
    check_channel_pad<bf16>(s);
  }
}

}  // namespace
}  // namespace sombrero::kernels
