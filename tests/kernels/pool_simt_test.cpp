// The pooling kernels (kernels/pool/pool.cu) executed on the CPU (runtime/simt) against the
// CPU backend, under every schedule. The kernels accumulate in the CPU backend's order (the
// backward gathers visit windows in the CPU scatter's order) with the same roundings, so f32
// results equal the CPU's bit for bit on random inputs too, and bf16 results are exactly the
// rounding of the CPU's on bf16-representable inputs. Small-integer inputs make max-pool ties
// frequent (the first maximum must win, argmax included). Shapes: ResNet's stem max pool
// (3x3/2, pad 1) on odd sizes, 2x2/2, overlapping 3x3/1 pad 1, an asymmetric 3x2 kernel with
// stride (1, 2) and pad (1, 0), and more channels than a warp; channel counts that split into
// 16-byte vectors (16 and 24 in f32 and bf16, 4 in f32 only) and that do not, and every case on
// views offset by one element (off alignment: the one-element path).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/pool/pool.h"
#include "runtime/error.h"
#include "runtime/simt/schedule.h"
#include "tests/kernels/pool_reference.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {
using test::as;
using test::behind;
using test::view;
using test::widen;

using sombrero::simt::kTestScheduleCount;
using sombrero::simt::ScopedSchedule;
using sombrero::simt::test_schedule;

std::vector<Pool2dShape> shapes() {
  return {
      {2, 9, 11, 5, 3, 3, 2, 2, 1, 1},   // ResNet stem max pool, odd sizes
      {1, 8, 8, 33, 2, 2, 2, 2, 0, 0},   // LeNet-style 2x2/2, > 32 channels
      {1, 6, 5, 3, 3, 3, 1, 1, 1, 1},    // overlapping windows
      {2, 7, 6, 4, 3, 2, 1, 2, 1, 0},    // asymmetric
      {2, 9, 11, 16, 3, 3, 2, 2, 1, 1},  // stem max pool, 16-byte vectors in f32 and bf16
      {1, 6, 5, 24, 3, 3, 1, 1, 1, 1},   // overlapping, 3 bf16 / 6 f32 vectors a pixel
      {2, 8, 9, 16, 2, 2, 3, 3, 0, 0},   // gaps: inputs in no window (vectors)
      {1, 7, 7, 3, 2, 2, 3, 3, 0, 0},    // gaps, one element a thread
  };
}

// Expected: the CPU backend's f32 outputs, rounded to bf16 for T = bf16.
template <typename T>
std::vector<float> expect(const std::vector<float>& v) {
  return std::is_same_v<T, float> ? v : test::rounded_to_bf16(v);
}

// Offset 0 (malloc'd buffers, 16-byte aligned): the 16-byte vector path where C is a multiple
// of 4 (f32) or 8 (bf16), else one element; offset 1: one element.
template <typename T>
void check_pool(const Pool2dShape& s, const std::vector<float>& x, const std::vector<float>& dy,
                const std::string& what, std::size_t offset) {
  const auto [y, dx, avg_y, avg_dx, argmax] = test::cpu_pool_reference(s, x, dy);
  const std::vector<T> x_t = behind(offset, as<T>(x)), dy_t = behind(offset, as<T>(dy));
  const std::vector<PoolArgmax> argmax_in = behind(offset, argmax);
  const std::size_t o = offset;
  for (int k = 0; k < kTestScheduleCount; ++k) {
    const ScopedSchedule schedule(test_schedule(k));
    const std::string where = sombrero::str(what, ", offset ", offset, ", schedule ", k);
    std::vector<T> got_y(o + test::pool_output_size(s)),
        got_dx(o + test::pool_input_size(s), as<T>({-7.0f})[0]);
    std::vector<PoolArgmax> got_argmax(o + test::pool_output_size(s), 0xee);  // no tap
    simt::max_pool2d_forward(s, x_t.data() + o, got_y.data() + o, got_argmax.data() + o, nullptr);
    EXPECT_EQ(widen(view(o, got_y)), expect<T>(y)) << "max forward, " << where;
    EXPECT_EQ(view(o, got_argmax), argmax) << "max argmax, " << where;
    simt::max_pool2d_backward(s, dy_t.data() + o, argmax_in.data() + o, got_dx.data() + o, nullptr);
    EXPECT_EQ(widen(view(o, got_dx)), expect<T>(dx)) << "max backward, " << where;
    simt::avg_pool2d_forward(s, x_t.data() + o, got_y.data() + o, nullptr);
    EXPECT_EQ(widen(view(o, got_y)), expect<T>(avg_y)) << "avg forward, " << where;
    simt::avg_pool2d_backward(s, dy_t.data() + o, got_dx.data() + o, nullptr);
    EXPECT_EQ(widen(view(o, got_dx)), expect<T>(avg_dx)) << "avg backward, " << where;
  }
}

// The CPU backend (every test's reference) against a naive scan: y is the window's maximum
// over the taps inside the input, and the argmax names the first tap, in (r, t) order, that
// holds it; every input pixel's dx is the sum of dy over the windows whose argmax names it.
TEST(PoolSimt, CpuMaxPoolNamesTheWindowsFirstMaximum) {
  unsigned seed = 40;
  for (const Pool2dShape& s : shapes()) {
    const std::vector<float> x = test::small_integers(test::pool_input_size(s), seed++),
                             dy = test::small_integers(test::pool_output_size(s), seed++);
    const auto [y, dx, avg_y, avg_dx, argmax] = test::cpu_pool_reference(s, x, dy);
    const int C = s.channels, OH = s.out_height(), OW = s.out_width();
    std::vector<float> want_dx(x.size(), 0.0f);
    for (int n = 0; n < s.batch; ++n)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow)
          for (int c = 0; c < C; ++c) {
            const std::size_t o = ((std::size_t(n) * OH + oh) * OW + ow) * C + c;
            float best = 0.0f;
            int best_tap = -1;
            std::size_t best_index = 0;
            for (int r = 0; r < s.kernel_h; ++r)
              for (int t = 0; t < s.kernel_w; ++t) {
                const int ih = oh * s.stride_h - s.pad_h + r, iw = ow * s.stride_w - s.pad_w + t;
                if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
                const std::size_t i =
                    ((std::size_t(n) * s.in_height + ih) * s.in_width + iw) * C + c;
                if (best_tap < 0 || x[i] > best)
                  best = x[i], best_tap = r * s.kernel_w + t, best_index = i;
              }
            ASSERT_EQ(y[o], best) << o;
            ASSERT_EQ(int(argmax[o]), best_tap) << o;
            want_dx[best_index] += dy[o];
          }
    EXPECT_EQ(dx, want_dx);
  }
}

TEST(PoolSimt, MaxAndAveragePoolEqualTheCpuBackendBitForBit) {
  unsigned seed = 1;
  for (const Pool2dShape& s : shapes()) {
    for (const bool integers : {true, false}) {
      const auto values = [&](std::size_t n) {
        return integers ? test::small_integers(n, seed++)
                        : test::rounded_to_bf16(test::random_values(n, seed++));
      };
      const std::vector<float> x = values(test::pool_input_size(s)),
                               dy = values(test::pool_output_size(s));
      const std::string what =
          sombrero::str("shape ", s.in_height, "x", s.in_width, "x", s.channels, " kernel ",
                        s.kernel_h, "x", s.kernel_w, integers ? " integers" : " random");
      for (const std::size_t offset : {std::size_t(0), std::size_t(1)}) {
        check_pool<float>(s, x, dy, what + " f32", offset);
        check_pool<bf16>(s, x, dy, what + " bf16", offset);
      }
    }
  }
}

template <typename T>
void check_global(int batch, int pixels, int channels, std::size_t offset) {
  const std::size_t n = std::size_t(batch) * pixels * channels;
  const std::vector<float> x = test::rounded_to_bf16(test::random_values(n, 21));
  const std::vector<float> dy =
      test::rounded_to_bf16(test::random_values(std::size_t(batch) * channels, 22));
  std::vector<float> y(std::size_t(batch) * channels), dx(n);
  cpu::global_avg_pool_forward(batch, pixels, channels, x.data(), y.data());
  cpu::global_avg_pool_backward(batch, pixels, channels, dy.data(), dx.data());
  const std::vector<T> x_t = behind(offset, as<T>(x)), dy_t = behind(offset, as<T>(dy));
  const std::size_t o = offset;
  for (int k = 0; k < kTestScheduleCount; ++k) {
    const ScopedSchedule schedule(test_schedule(k));
    const std::string where =
        sombrero::str("channels ", channels, ", pixels ", pixels, ", offset ", o, ", schedule ", k);
    std::vector<T> got_y(o + y.size()), got_dx(o + n);
    simt::global_avg_pool_forward(batch, pixels, channels, x_t.data() + o, got_y.data() + o,
                                  nullptr);
    simt::global_avg_pool_backward(batch, pixels, channels, dy_t.data() + o, got_dx.data() + o,
                                   nullptr);
    EXPECT_EQ(widen(view(o, got_y)), expect<T>(y)) << where;
    EXPECT_EQ(widen(view(o, got_dx)), expect<T>(dx)) << where;
  }
}

TEST(PoolSimt, GlobalAveragePoolEqualsTheCpuBackendBitForBit) {
  // 40 channels: 16-byte vectors in f32 and bf16; 300: in f32 only; 7: never; offset 1: never.
  for (const std::size_t offset : {std::size_t(0), std::size_t(1)}) {
    check_global<float>(3, 49, 40, offset);  // ResNet's 7x7 bottleneck
    check_global<bf16>(3, 49, 40, offset);
    check_global<float>(2, 1, 7, offset);
    check_global<bf16>(1, 64, 300, offset);
    check_global<float>(1, 64, 300, offset);
  }
}

}  // namespace
}  // namespace sombrero::kernels
