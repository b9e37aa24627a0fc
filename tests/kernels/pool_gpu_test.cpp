// The pooling kernels (pool.cu) on a real GPU against the CPU backend, bit for bit (the kernels
// accumulate in the CPU's order with the same roundings), on ResNet-sized shapes past the grid
// cap; bf16 results equal the rounding of the f32 ones. Skips with a message when no CUDA
// device is present.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "kernels/pool/pool.h"
#include "runtime/device_info.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::DeviceBuffer;

TEST(PoolGpu, EqualsTheCpuBackendBitForBit) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const Pool2dShape s : {Pool2dShape{16, 112, 112, 64, 3, 3, 2, 2, 1, 1},  // ResNet stem
                              Pool2dShape{8, 28, 28, 20, 2, 2, 2, 2, 0, 0}}) {
    const std::size_t in = std::size_t(s.batch) * s.in_height * s.in_width * s.channels;
    const std::size_t out = std::size_t(s.batch) * s.out_height() * s.out_width() * s.channels;
    const std::vector<float> x = test::small_integers(in, 1);  // ties: the first maximum wins
    const std::vector<float> dy = test::rounded_to_bf16(test::random_values(out, 2));
    std::vector<float> y(out), dx(in), avg_y(out), avg_dx(in);
    std::vector<std::int32_t> argmax(out);
    cpu::max_pool2d_forward(s, x.data(), y.data(), argmax.data());
    cpu::max_pool2d_backward(s, dy.data(), argmax.data(), dx.data());
    cpu::avg_pool2d_forward(s, x.data(), avg_y.data());
    cpu::avg_pool2d_backward(s, dy.data(), avg_dx.data());

    DeviceBuffer<float> d_x(x), d_dy(dy), d_y{std::vector<float>(out)},
        d_dx{std::vector<float>(in)};
    DeviceBuffer<std::int32_t> d_argmax{std::vector<std::int32_t>(out)};
    cuda::max_pool2d_forward(s, d_x.get(), d_y.get(), d_argmax.get(), nullptr);
    EXPECT_EQ(d_y.download(), y);
    EXPECT_EQ(d_argmax.download(), argmax);
    cuda::max_pool2d_backward(s, d_dy.get(), d_argmax.get(), d_dx.get(), nullptr);
    EXPECT_EQ(d_dx.download(), dx);
    cuda::avg_pool2d_forward(s, d_x.get(), d_y.get(), nullptr);
    EXPECT_EQ(d_y.download(), avg_y);
    cuda::avg_pool2d_backward(s, d_dy.get(), d_dx.get(), nullptr);
    EXPECT_EQ(d_dx.download(), avg_dx);

    DeviceBuffer<bf16> h_x(test::to_bf16(x)), h_dy(test::to_bf16(dy)), h_y{std::vector<bf16>(out)},
        h_dx{std::vector<bf16>(in)};
    cuda::max_pool2d_backward(s, h_dy.get(), d_argmax.get(), h_dx.get(), nullptr);
    EXPECT_EQ(test::to_float(h_dx.download()), test::rounded_to_bf16(dx));
    cuda::avg_pool2d_forward(s, h_x.get(), h_y.get(), nullptr);
    EXPECT_EQ(test::to_float(h_y.download()), test::rounded_to_bf16(avg_y));
  }
  // Global average pooling: ResNet-50's 7x7x2048 bottleneck.
  const int batch = 32, pixels = 49, channels = 2048;
  const std::vector<float> x =
      test::rounded_to_bf16(test::random_values(std::size_t(batch) * pixels * channels, 3));
  const std::vector<float> dy =
      test::rounded_to_bf16(test::random_values(std::size_t(batch) * channels, 4));
  std::vector<float> y(dy.size()), dx(x.size());
  cpu::global_avg_pool_forward(batch, pixels, channels, x.data(), y.data());
  cpu::global_avg_pool_backward(batch, pixels, channels, dy.data(), dx.data());
  DeviceBuffer<float> d_x(x), d_dy(dy), d_y{std::vector<float>(y.size())},
      d_dx{std::vector<float>(dx.size())};
  cuda::global_avg_pool_forward(batch, pixels, channels, d_x.get(), d_y.get(), nullptr);
  cuda::global_avg_pool_backward(batch, pixels, channels, d_dy.get(), d_dx.get(), nullptr);
  EXPECT_EQ(d_y.download(), y);
  EXPECT_EQ(d_dx.download(), dx);
}

}  // namespace
}  // namespace sombrero::kernels
