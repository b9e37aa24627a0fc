// The elementwise layer kernels (kernels/pointwise/pointwise.cu) executed on the CPU
// (runtime/simt) against the CPU backend, under every schedule:
//   - relu forward/backward, add, add_inplace, bias_add: no sums, so f32 results equal the
//     CPU backend bit for bit on random inputs (with -0, +-inf and NaN planted in the ReLU
//     inputs), and bf16 results are exactly the bf16 rounding of the CPU's f32 results on
//     the same (bf16-representable) inputs; on the 16-byte vector path (aligned buffers, with
//     and without a scalar tail: n = 1000, 1003, 1) and on the one-element path (views offset
//     by one element), leaving the element before the view untouched; bias_add on rows that
//     split into vectors (64 channels; 12 in f32 only), that do not, and an offset view;
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
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "kernels/pointwise/pointwise.h"
#include "runtime/error.h"
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

bool aligned_16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

TEST(PointwiseSimt, ElementwiseOpsEqualTheCpuBackendBitForBit) {
  // (n, offset): the kernels see n elements starting `offset` elements into the buffers.
  // Offset 0 (malloc'd buffers are 16-byte aligned): the 16-byte vector path, with no tail
  // (1000 = 125 x 8) or a tail (1003: 3 elements past the last vector; 1: only the tail);
  // offset 1: every pointer off alignment, the one-element path. The element before the view
  // must stay untouched.
  for (const auto& [n, offset] : {std::pair<std::size_t, std::size_t>{1, 0},
                                  {1000, 0},
                                  {1003, 0},
                                  {1000, 1},
                                  {1003, 1},
                                  {300001, 0}}) {
    // The large size (1024 blocks, grid-stride: every op shares the loop) runs relu_forward
    // under one schedule only, for time.
    const int schedules = n > 100000 ? 1 : kTestScheduleCount;
    const std::size_t size = n + offset;
    const auto view = [offset = offset](auto& v) { return v.data() + offset; };
    const std::vector<float> x = relu_inputs(size, 1), dy = relu_inputs(size, 2);
    const std::vector<float> b = test::rounded_to_bf16(test::random_values(size, 3));
    const std::string what = sombrero::str("n ", n, " offset ", offset, ": ");
    std::vector<float> want(size);
    cpu::relu_forward(std::int64_t(n), x.data() + offset, want.data() + offset);
    check_elementwise((what + "relu_forward").c_str(), {x}, std::vector<float>(size), want,
                      [n = n, offset = offset, view](const auto& in, auto& out) {
                        EXPECT_EQ(aligned_16(view(out)), offset == 0);
                        simt::relu_forward(std::int64_t(n), view(in[0]), view(out), nullptr);
                      },
                      schedules);
    if (n > 100000) continue;
    cpu::relu_backward(std::int64_t(n), x.data() + offset, dy.data() + offset,
                       want.data() + offset);
    check_elementwise((what + "relu_backward").c_str(), {x, dy}, std::vector<float>(size), want,
                      [n = n, view](const auto& in, auto& out) {
                        simt::relu_backward(std::int64_t(n), view(in[0]), view(in[1]), view(out),
                                            nullptr);
                      },
                      schedules);
    // dx aliasing dy, as the layers use it.
    std::vector<float> want_in_place = dy;
    cpu::relu_backward(std::int64_t(n), x.data() + offset, dy.data() + offset,
                       want_in_place.data() + offset);
    check_elementwise((what + "relu_backward in place").c_str(), {x}, dy, want_in_place,
                      [n = n, view](const auto& in, auto& out) {
                        simt::relu_backward(std::int64_t(n), view(in[0]), view(out), view(out),
                                            nullptr);
                      },
                      schedules);
    cpu::add(std::int64_t(n), x.data() + offset, b.data() + offset, want.data() + offset);
    check_elementwise((what + "add").c_str(), {x, b}, std::vector<float>(size), want,
                      [n = n, view](const auto& in, auto& out) {
                        simt::add(std::int64_t(n), view(in[0]), view(in[1]), view(out), nullptr);
                      },
                      schedules);
    want = b;
    cpu::add_inplace(std::int64_t(n), x.data() + offset, want.data() + offset);
    check_elementwise((what + "add_inplace").c_str(), {x}, b, want,
                      [n = n, view](const auto& in, auto& out) {
                        simt::add_inplace(std::int64_t(n), view(in[0]), view(out), nullptr);
                      },
                      schedules);
  }
}

TEST(PointwiseSimt, BiasAddEqualsTheCpuBackendBitForBit) {
  // (rows, channels, offset). 64 channels: 16-byte vectors in f32 and bf16; 12: vectors in
  // f32 only (3 a row), one channel in bf16; 10, 67, 1 and the offset view: one channel.
  struct Case {
    int rows, channels;
    std::size_t offset;
  };
  for (const Case& k : {Case{1, 1, 0}, Case{37, 10, 0}, Case{100, 67, 0}, Case{50, 64, 0},
                        Case{33, 12, 0}, Case{50, 64, 1}}) {
    const std::size_t n = std::size_t(k.rows) * k.channels, size = n + k.offset;
    const std::vector<float> y0 = test::rounded_to_bf16(test::random_values(size, 4));
    const std::vector<float> bias = test::random_values(std::size_t(k.channels), 5);
    std::vector<float> want = y0;
    cpu::bias_add(k.rows, k.channels, bias.data(), want.data() + k.offset);
    check_elementwise(
        sombrero::str("bias_add ", k.rows, "x", k.channels, " offset ", k.offset).c_str(), {}, y0,
        want, [&](const auto&, auto& out) {
          simt::bias_add(k.rows, k.channels, bias.data(), out.data() + k.offset, nullptr);
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
        ChannelPadShape{3, 7, 5, 2, 2, 3}, ChannelPadShape{2, 8, 8, 16, 32, 2},
        ChannelPadShape{2, 5, 5, 3, 8, 1, 0},      // Conv2d's stem padding, 3 -> 8: a vector
        ChannelPadShape{2, 3, 4, 5, 16, 1, 0}}) {  // per pixel (bf16), then two or four
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
