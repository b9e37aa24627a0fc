// The normalize kernel (normalize.cu) on a real GPU against datasets::normalize_to_f32, bit
// for bit in f32 (separately rounded product and sum), bf16 the rounding of it, on an ImageNet
// batch shape. Skips with a message when no CUDA device is present.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "datasets/normalize.h"
#include "kernels/input/normalize.h"
#include "runtime/device_info.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

TEST(NormalizeGpu, EqualsTheCpuNormalizeBitForBit) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const std::vector<double> mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225};
  const std::size_t n = std::size_t(32) * 224 * 224 * 3;
  std::vector<std::uint8_t> in(n);
  for (std::size_t i = 0; i < n; ++i) in[i] = std::uint8_t((i * 2654435761u) >> 24);
  std::vector<float> want(n);
  datasets::normalize_to_f32(in.data(), n, 3, mean, std, want.data());
  const NormalizeParams params = make_normalize_params(3, mean, std);
  test::DeviceBuffer<std::uint8_t> d_in(in);
  test::DeviceBuffer<float> d_out{std::vector<float>(n)};
  test::DeviceBuffer<bf16> d_out16{std::vector<bf16>(n)};
  cuda::normalize_u8(std::int64_t(n), params, d_in.get(), d_out.get(), nullptr);
  cuda::normalize_u8(std::int64_t(n), params, d_in.get(), d_out16.get(), nullptr);
  EXPECT_EQ(d_out.download(), want);
  EXPECT_EQ(test::to_float(d_out16.download()), test::rounded_to_bf16(want));
}

}  // namespace
}  // namespace sombrero::kernels
