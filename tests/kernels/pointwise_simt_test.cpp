// The elementwise layer kernels (kernels/pointwise/pointwise.cu) executed on the CPU
// (runtime/simt) against the CPU backend, under every schedule:
//   - relu forward/backward, add, add_inplace, bias_add: no sums, so f32 results equal the
//     CPU backend bit for bit on random inputs (with -0, +-inf and NaN planted in the ReLU
//     inputs), and bf16 results are exactly the bf16 rounding of the CPU's f32 results on
//     the same (bf16-representable) inputs;
//   - bias_backward: bit for bit on small integers (exact sums); on random inputs within the
//     summation bound (f32 chains of <= 16 terms per thread, the row lanes in double, one
//     f32 rounding of the block's partial: well inside 24 u sum|dy| per channel, doubled
//     for the CPU's final rounding), on both the one-element and the 16-byte-vector path;
//   - a size past the 1024-block grid cap (grid-stride loop), and odd sizes;
//   - channel_pad_subsample forward/backward (the option-A shortcut): pure copies, so the CPU
//     backend and the kernels (f32 and bf16) equal a naive loop over the definition bit for
//     bit, for odd sizes, strides 1 to 3 and no padding; outputs start as NaN so every
//     element written (zeros included) is checked.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/pointwise/pointwise.h"
#include "runtime/simt/schedule.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using sombrero::simt::kTestScheduleCount;
using sombrero::simt::ScopedSchedule;
using sombrero::simt::test_schedule;

std::vector<float> relu_inputs(std::size_t n, unsigned seed) {
  std::vector<float> v = test::rounded_to_bf16(test::random_values(n, seed));
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {-0.0f, 0.0f, inf, -inf, std::nanf(""), -std::nanf("")};
  for (std::size_t k = 0; k < 6 && 7 * k < n; ++k) v[7 * k] = specials[k];
  return v;
}

// Compares bits (NaN payloads included).
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::uint32_t x, y;
    std::memcpy(&x, &a[i], 4);
    std::memcpy(&y, &b[i], 4);
    if (x != y && !(std::isnan(a[i]) && std::isnan(b[i]))) return false;
  }
  return true;
}

// Runs `op` over f32 and bf16 copies of the inputs under every schedule and checks f32 against
// `expected` bit for bit, bf16 against its rounding. op(inputs..., output) on vectors of T.
template <typename Op>
void check_elementwise(const char* name, const std::vector<std::vector<float>>& inputs,
                       std::vector<float> output_init, const std::vector<float>& expected, Op op,
                       int schedules = kTestScheduleCount) {
  for (int s = 0; s < schedules; ++s) {
    const ScopedSchedule schedule(test_schedule(s));
    std::vector<float> out = output_init;
    op(inputs, out);
    EXPECT_TRUE(same_bits(out, expected)) << name << " f32, schedule " << s;
    std::vector<std::vector<bf16>> inputs16;
    for (const auto& v : inputs) inputs16.push_back(test::to_bf16(v));
    std::vector<bf16> out16 = test::to_bf16(output_init);
    op(inputs16, out16);
    EXPECT_TRUE(same_bits(test::to_float(out16), test::rounded_to_bf16(expected)))
        << name << " bf16, schedule " << s;
  }
}

TEST(PointwiseSimt, ElementwiseOpsEqualTheCpuBackendBitForBit) {
  for (const std::size_t n : {std::size_t(1), std::size_t(1000), std::size_t(300001)}) {
    // The large size (1024 blocks, grid-stride: every op shares the loop) runs relu_forward
    // under one schedule only, for time.
    const int schedules = n > 100000 ? 1 : kTestScheduleCount;
    const std::vector<float> x = relu_inputs(n, 1), dy = relu_inputs(n, 2);
    const std::vector<float> b = test::rounded_to_bf16(test::random_values(n, 3));
    std::vector<float> want(n);
    cpu::relu_forward(std::int64_t(n), x.data(), want.data());
    check_elementwise(
        "relu_forward", {x}, std::vector<float>(n), want,
        [n](const auto& in, auto& out) {
          simt::relu_forward(std::int64_t(n), in[0].data(), out.data(), nullptr);
        },
        schedules);
    if (n > 100000) continue;
    cpu::relu_backward(std::int64_t(n), x.data(), dy.data(), want.data());
    check_elementwise(
        "relu_backward", {x, dy}, std::vector<float>(n), want,
        [n](const auto& in, auto& out) {
          simt::relu_backward(std::int64_t(n), in[0].data(), in[1].data(), out.data(), nullptr);
        },
        schedules);
    // dx aliasing dy, as the layers use it.
    check_elementwise(
        "relu_backward in place", {x}, dy, want,
        [n](const auto& in, auto& out) {
          simt::relu_backward(std::int64_t(n), in[0].data(), out.data(), out.data(), nullptr);
        },
        schedules);
    cpu::add(std::int64_t(n), x.data(), b.data(), want.data());
    check_elementwise(
        "add", {x, b}, std::vector<float>(n), want,
        [n](const auto& in, auto& out) {
          simt::add(std::int64_t(n), in[0].data(), in[1].data(), out.data(), nullptr);
        },
        schedules);
    want = b;
    cpu::add_inplace(std::int64_t(n), x.data(), want.data());
    check_elementwise(
        "add_inplace", {x}, b, want,
        [n](const auto& in, auto& out) {
          simt::add_inplace(std::int64_t(n), in[0].data(), out.data(), nullptr);
        },
        schedules);
  }
}

TEST(PointwiseSimt, BiasAddEqualsTheCpuBackendBitForBit) {
  for (const auto& [rows, channels] : {std::pair{1, 1}, std::pair{37, 10}, std::pair{100, 67}}) {
    const std::size_t n = std::size_t(rows) * channels;
    const std::vector<float> y0 = test::rounded_to_bf16(test::random_values(n, 4));
    const std::vector<float> bias = test::random_values(std::size_t(channels), 5);
    std::vector<float> want = y0;
    cpu::bias_add(rows, channels, bias.data(), want.data());
    check_elementwise("bias_add", {}, y0, want,
                      [&, rows = rows, channels = channels](const auto&, auto& out) {
                        simt::bias_add(rows, channels, bias.data(), out.data(), nullptr);
                      });
  }
}

TEST(PointwiseSimt, BiasBackwardMatchesTheCpuBackend) {
  for (const bool integers : {true, false}) {
    for (const auto& [rows, channels] :
         {std::pair{1, 3}, std::pair{300, 45}, std::pair{40000, 2}, std::pair{96, 48}}) {
      // 40000 rows: > 256 row blocks; 48 channels: 16-byte vectors (12 f32 / 6 bf16 a row)
      const std::size_t n = std::size_t(rows) * channels;
      const std::vector<float> dy =
          integers ? test::small_integers(n, 6) : test::rounded_to_bf16(test::random_values(n, 6));
      std::vector<float> want(std::size_t(channels), 0.5f);
      cpu::bias_backward(rows, channels, dy.data(), want.data());
      const std::vector<bf16> dy16 = test::to_bf16(dy);
      std::vector<float> first;
      const int schedules = rows > 10000 ? 1 : kTestScheduleCount;  // 256 blocks: time
      for (int s = 0; s < schedules; ++s) {
        const ScopedSchedule schedule(test_schedule(s));
        std::vector<float> workspace(bias_backward_workspace_floats(rows, channels), std::nanf(""));
        std::vector<float> got(std::size_t(channels), 0.5f), got16(std::size_t(channels), 0.5f);
        simt::bias_backward(rows, channels, dy.data(), got.data(), workspace.data(), nullptr);
        simt::bias_backward(rows, channels, dy16.data(), got16.data(), workspace.data(), nullptr);
        // Exact sums (integers) do not depend on the tiling, which differs between f32 and
        // bf16 when rows split into 16-byte vectors; random ones meet the bound below.
        if (integers) {
          EXPECT_EQ(got16, got) << "bf16 and f32 gradients see the same values";
        }
        if (s == 0) first = got;
        EXPECT_EQ(got, first) << "schedule " << s;
        for (int c = 0; c < channels; ++c) {
          double abs_sum = 0;
          for (int r = 0; r < rows; ++r) abs_sum += std::abs(dy[std::size_t(r) * channels + c]);
          const double bound =
              integers ? 0.0
                       : 48 * std::ldexp(abs_sum, -24) + 1e-7 * std::abs(want[std::size_t(c)]);
          EXPECT_NEAR(got[std::size_t(c)], want[std::size_t(c)], bound)
              << "rows " << rows << " channel " << c;
          EXPECT_NEAR(got16[std::size_t(c)], want[std::size_t(c)], bound)
              << "bf16, rows " << rows << " channel " << c;
        }
      }
    }
  }
}

// The definition in pointwise.h, one output element at a time.
std::vector<float> naive_channel_pad_forward(const ChannelPadShape& s,
                                             const std::vector<float>& x) {
  std::vector<float> y(std::size_t(s.output_elements()));
  std::size_t i = 0;
  for (int n = 0; n < s.batch; ++n)
    for (int h = 0; h < s.out_height(); ++h)
      for (int w = 0; w < s.out_width(); ++w)
        for (int c = 0; c < s.out_channels; ++c, ++i) {
          const int ci = c - s.pad();
          y[i] = ci >= 0 && ci < s.in_channels
                     ? x[((std::size_t(n) * s.in_height + std::size_t(h) * s.stride) * s.in_width +
                          std::size_t(w) * s.stride) *
                             s.in_channels +
                         std::size_t(ci)]
                     : 0.0f;
        }
  return y;
}

std::vector<float> naive_channel_pad_backward(const ChannelPadShape& s,
                                              const std::vector<float>& dy) {
  std::vector<float> dx(std::size_t(s.input_elements()));
  std::size_t i = 0;
  for (int n = 0; n < s.batch; ++n)
    for (int h = 0; h < s.in_height; ++h)
      for (int w = 0; w < s.in_width; ++w)
        for (int c = 0; c < s.in_channels; ++c, ++i)
          dx[i] = h % s.stride == 0 && w % s.stride == 0
                      ? dy[((std::size_t(n) * s.out_height() + std::size_t(h / s.stride)) *
                                s.out_width() +
                            std::size_t(w / s.stride)) *
                               s.out_channels +
                           std::size_t(s.pad() + c)]
                      : 0.0f;
  return dx;
}

TEST(PointwiseSimt, ChannelPadSubsampleEqualsItsDefinitionBitForBit) {
  // batch, H, W, in channels, out channels, stride
  for (const ChannelPadShape s :
       {ChannelPadShape{2, 5, 6, 3, 7, 2}, ChannelPadShape{1, 4, 4, 4, 8, 1},
        ChannelPadShape{3, 7, 5, 2, 2, 3}, ChannelPadShape{2, 8, 8, 16, 32, 2}}) {
    const std::vector<float> x =
        test::rounded_to_bf16(test::random_values(std::size_t(s.input_elements()), 7));
    const std::vector<float> dy =
        test::rounded_to_bf16(test::random_values(std::size_t(s.output_elements()), 8));
    const std::vector<float> want_y = naive_channel_pad_forward(s, x);
    const std::vector<float> want_dx = naive_channel_pad_backward(s, dy);
    const std::vector<float> nan_y(want_y.size(), std::nanf("")),
        nan_dx(want_dx.size(), std::nanf(""));
    std::vector<float> y = nan_y, dx = nan_dx;
    cpu::channel_pad_subsample_forward(s, x.data(), y.data());
    cpu::channel_pad_subsample_backward(s, dy.data(), dx.data());
    EXPECT_TRUE(same_bits(y, want_y)) << "cpu forward, stride " << s.stride;
    EXPECT_TRUE(same_bits(dx, want_dx)) << "cpu backward, stride " << s.stride;
    check_elementwise("channel_pad_subsample_forward", {x}, nan_y, want_y,
                      [s](const auto& in, auto& out) {
                        simt::channel_pad_subsample_forward(s, in[0].data(), out.data(), nullptr);
                      });
    check_elementwise("channel_pad_subsample_backward", {dy}, nan_dx, want_dx,
                      [s](const auto& in, auto& out) {
                        simt::channel_pad_subsample_backward(s, in[0].data(), out.data(), nullptr);
                      });
  }
}

}  // namespace
}  // namespace sombrero::kernels
