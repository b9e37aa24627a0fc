// The pooling kernels (pool.cu) on a real GPU against the CPU backend, bit for bit (the kernels
// accumulate in the CPU's order with the same roundings), on ResNet-sized shapes past the grid
// cap; bf16 results equal the rounding of the f32 ones; both paths (16-byte channel vectors,
// and one element on views offset by one element) in f32 and bf16. Skips with a message when
// no CUDA device is present.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/pool/pool.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "tests/kernels/pool_reference.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::behind;
using test::DeviceBuffer;
using test::view;

TEST(PoolGpu, EqualsTheCpuBackendBitForBit) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const Pool2dShape s : {Pool2dShape{16, 112, 112, 64, 3, 3, 2, 2, 1, 1},  // ResNet stem
                              Pool2dShape{8, 28, 28, 20, 2, 2, 2, 2, 0, 0}}) {
    const std::size_t in = test::pool_input_size(s), out = test::pool_output_size(s);
    const std::vector<float> x = test::small_integers(in, 1);  // ties: the first maximum wins
    const std::vector<float> dy = test::rounded_to_bf16(test::random_values(out, 2));
    const auto [y, dx, avg_y, avg_dx, argmax] = test::cpu_pool_reference(s, x, dy);

    DeviceBuffer<float> d_x(x), d_dy(dy), d_y{std::vector<float>(out)},
        d_dx{std::vector<float>(in)};
    DeviceBuffer<PoolArgmax> d_argmax{std::vector<PoolArgmax>(out)};
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

// Both paths of every pooling kernel: at offset 0 (cudaMalloc: 16-byte aligned; 32 channels)
// the 16-byte vector path, at offset 1 the one-element path; f32 and bf16.
template <typename T>
void check_paths(std::size_t o) {
  const Pool2dShape s{4, 17, 15, 32, 3, 3, 2, 2, 1, 1};
  const std::size_t in = test::pool_input_size(s), out = test::pool_output_size(s);
  const std::vector<float> x = test::small_integers(in, 5);  // ties: the first maximum wins
  const std::vector<float> dy = test::rounded_to_bf16(test::random_values(out, 6));
  const auto [y, dx, avg_y, avg_dx, argmax] = test::cpu_pool_reference(s, x, dy);
  const auto expected = [](const std::vector<float>& v) {
    return std::is_same_v<T, float> ? v : test::rounded_to_bf16(v);
  };
  const std::string where =
      sombrero::str(std::is_same_v<T, float> ? "f32" : "bf16", ", offset ", o);
  DeviceBuffer<T> d_x(behind(o, test::as<T>(x))), d_dy(behind(o, test::as<T>(dy))),
      d_y{std::vector<T>(o + out)}, d_dx{std::vector<T>(o + in)};
  DeviceBuffer<PoolArgmax> d_argmax{std::vector<PoolArgmax>(o + out)};
  cuda::max_pool2d_forward(s, d_x.get() + o, d_y.get() + o, d_argmax.get() + o, nullptr);
  EXPECT_EQ(test::widen(view(o, d_y.download())), expected(y)) << "max forward, " << where;
  EXPECT_EQ(view(o, d_argmax.download()), argmax) << "argmax, " << where;
  cuda::max_pool2d_backward(s, d_dy.get() + o, d_argmax.get() + o, d_dx.get() + o, nullptr);
  EXPECT_EQ(test::widen(view(o, d_dx.download())), expected(dx)) << "max backward, " << where;
  cuda::avg_pool2d_forward(s, d_x.get() + o, d_y.get() + o, nullptr);
  EXPECT_EQ(test::widen(view(o, d_y.download())), expected(avg_y)) << "avg forward, " << where;
  cuda::avg_pool2d_backward(s, d_dy.get() + o, d_dx.get() + o, nullptr);
  EXPECT_EQ(test::widen(view(o, d_dx.download())), expected(avg_dx)) << "avg backward, " << where;

  const int batch = 4, pixels = 49, channels = 64;
  const std::vector<float> gx =
      test::rounded_to_bf16(test::random_values(std::size_t(batch) * pixels * channels, 7));
  const std::vector<float> gdy =
      test::rounded_to_bf16(test::random_values(std::size_t(batch) * channels, 8));
  std::vector<float> gy(gdy.size()), gdx(gx.size());
  cpu::global_avg_pool_forward(batch, pixels, channels, gx.data(), gy.data());
  cpu::global_avg_pool_backward(batch, pixels, channels, gdy.data(), gdx.data());
  DeviceBuffer<T> d_gx(behind(o, test::as<T>(gx))), d_gdy(behind(o, test::as<T>(gdy))),
      d_gy{std::vector<T>(o + gy.size())}, d_gdx{std::vector<T>(o + gdx.size())};
  cuda::global_avg_pool_forward(batch, pixels, channels, d_gx.get() + o, d_gy.get() + o, nullptr);
  cuda::global_avg_pool_backward(batch, pixels, channels, d_gdy.get() + o, d_gdx.get() + o,
                                 nullptr);
  EXPECT_EQ(test::widen(view(o, d_gy.download())), expected(gy)) << "global forward, " << where;
  EXPECT_EQ(test::widen(view(o, d_gdx.download())), expected(gdx)) << "global backward, " << where;
}

TEST(PoolGpu, VectorAndScalarPathsEqualTheCpuBackend) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const std::size_t offset : {std::size_t(0), std::size_t(1)}) {
    check_paths<float>(offset);
    check_paths<bf16>(offset);
  }
}

}  // namespace
}  // namespace sombrero::kernels
