// The normalize kernel (kernels/input/normalize.cu) executed on the CPU (runtime/simt) against
// the CPU version, datasets::normalize_to_f32, under every schedule: every byte value in every
// channel, ImageNet's mean/std (3 channels), one mean/std for all channels (1 channel), 4
// channels, a size past the 1024-block grid cap; f32 bit for bit (the same two roundings),
// bf16 the rounding of the f32 result. Bad parameters are refused with the CPU's messages.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "datasets/normalize.h"
#include "kernels/input/normalize.h"
#include "runtime/error.h"
#include "runtime/simt/schedule.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

struct Case {
  int channels;
  std::vector<double> mean, std;
  std::size_t pixels;
};

TEST(NormalizeSimt, EqualsTheCpuNormalizeBitForBit) {
  const std::vector<Case> cases = {
      {3, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}, 256},  // ImageNet
      {1, {0.2860}, {0.3530}, 300},                            // Fashion-MNIST, one value
      {4, {0.5}, {0.25, 0.5, 1.0, 2.0}, 257},
      {3, {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}, 90000},  // 1055 blocks
  };
  for (const Case& k : cases) {
    const std::size_t n = k.pixels * std::size_t(k.channels);
    std::vector<std::uint8_t> in(n);
    for (std::size_t i = 0; i < n; ++i) in[i] = std::uint8_t((i / k.channels + 7 * i) % 256);
    std::vector<float> want(n);
    datasets::normalize_to_f32(in.data(), n, k.channels, k.mean, k.std, want.data());
    const NormalizeParams params = make_normalize_params(k.channels, k.mean, k.std);
    const int schedules = n > 100000 ? 1 : sombrero::simt::kTestScheduleCount;
    for (int s = 0; s < schedules; ++s) {
      const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
      std::vector<float> got(n, -1.0f);
      std::vector<bf16> got16(n);
      simt::normalize_u8(std::int64_t(n), params, in.data(), got.data(), nullptr);
      simt::normalize_u8(std::int64_t(n), params, in.data(), got16.data(), nullptr);
      EXPECT_EQ(got, want) << k.channels << " channels, schedule " << s;
      EXPECT_EQ(test::to_float(got16), test::rounded_to_bf16(want))
          << k.channels << " channels, schedule " << s;
    }
  }
}

TEST(NormalizeSimt, RefusesBadParameters) {
  EXPECT_THROW(make_normalize_params(5, {0.5}, {0.5}), Error);
  EXPECT_THROW(make_normalize_params(3, {0.5, 0.5}, {0.5}), Error);
  EXPECT_THROW(make_normalize_params(3, {0.5}, {0.0}), Error);
  const NormalizeParams params = make_normalize_params(3, {0.5}, {0.5});
  std::vector<std::uint8_t> in(4);
  std::vector<float> out(4);
  EXPECT_THROW(simt::normalize_u8(4, params, in.data(), out.data(), nullptr), Error);
}

}  // namespace
}  // namespace sombrero::kernels
