// The pooling kernels (kernels/pool/pool.cu) executed on the CPU (runtime/simt) against the
// CPU backend, under every schedule. The kernels accumulate in the CPU backend's order (the
// backward gathers visit windows in the CPU scatter's order) with the same roundings, so f32
// results equal the CPU's bit for bit on random inputs too, and bf16 results are exactly the
// rounding of the CPU's on bf16-representable inputs. Small-integer inputs make max-pool ties
// frequent (the first maximum must win, argmax included). Shapes: ResNet's stem max pool
// (3x3/2, pad 1) on odd sizes, 2x2/2, overlapping 3x3/1 pad 1, an asymmetric 3x2 kernel with
// stride (1, 2) and pad (1, 0), and more channels than a warp.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/pool/pool.h"
#include "runtime/simt/schedule.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {
using test::as;
using test::widen;

using sombrero::simt::kTestScheduleCount;
using sombrero::simt::ScopedSchedule;
using sombrero::simt::test_schedule;

std::vector<Pool2dShape> shapes() {
  return {
      {2, 9, 11, 5, 3, 3, 2, 2, 1, 1},  // ResNet stem max pool, odd sizes
      {1, 8, 8, 33, 2, 2, 2, 2, 0, 0},  // LeNet-style 2x2/2, > 32 channels
      {1, 6, 5, 3, 3, 3, 1, 1, 1, 1},   // overlapping windows
      {2, 7, 6, 4, 3, 2, 1, 2, 1, 0},   // asymmetric
  };
}

std::size_t in_size(const Pool2dShape& s) {
  return std::size_t(s.batch) * s.in_height * s.in_width * s.channels;
}
std::size_t out_size(const Pool2dShape& s) {
  return std::size_t(s.batch) * s.out_height() * s.out_width() * s.channels;
}

// Expected: the CPU backend's f32 outputs, rounded to bf16 for T = bf16.
template <typename T>
std::vector<float> expect(const std::vector<float>& v) {
  return std::is_same_v<T, float> ? v : test::rounded_to_bf16(v);
}

template <typename T>
void check_pool(const Pool2dShape& s, const std::vector<float>& x, const std::vector<float>& dy,
                const std::string& what) {
  std::vector<float> y(out_size(s)), dx(in_size(s)), avg_y(out_size(s)), avg_dx(in_size(s));
  std::vector<std::int32_t> argmax(out_size(s));
  cpu::max_pool2d_forward(s, x.data(), y.data(), argmax.data());
  cpu::max_pool2d_backward(s, dy.data(), argmax.data(), dx.data());
  cpu::avg_pool2d_forward(s, x.data(), avg_y.data());
  cpu::avg_pool2d_backward(s, dy.data(), avg_dx.data());
  const std::vector<T> x_t = as<T>(x), dy_t = as<T>(dy);
  for (int k = 0; k < kTestScheduleCount; ++k) {
    const ScopedSchedule schedule(test_schedule(k));
    const std::string where = what + ", schedule " + std::to_string(k);
    std::vector<T> got_y(out_size(s)), got_dx(in_size(s), as<T>({-7.0f})[0]);
    std::vector<std::int32_t> got_argmax(out_size(s), -5);
    simt::max_pool2d_forward(s, x_t.data(), got_y.data(), got_argmax.data(), nullptr);
    EXPECT_EQ(widen(got_y), expect<T>(y)) << "max forward, " << where;
    EXPECT_EQ(got_argmax, argmax) << "max argmax, " << where;
    simt::max_pool2d_backward(s, dy_t.data(), argmax.data(), got_dx.data(), nullptr);
    EXPECT_EQ(widen(got_dx), expect<T>(dx)) << "max backward, " << where;
    simt::avg_pool2d_forward(s, x_t.data(), got_y.data(), nullptr);
    EXPECT_EQ(widen(got_y), expect<T>(avg_y)) << "avg forward, " << where;
    simt::avg_pool2d_backward(s, dy_t.data(), got_dx.data(), nullptr);
    EXPECT_EQ(widen(got_dx), expect<T>(avg_dx)) << "avg backward, " << where;
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
      const std::vector<float> x = values(in_size(s)), dy = values(out_size(s));
      const std::string what = "shape " + std::to_string(s.in_height) + "x" +
                               std::to_string(s.in_width) + " kernel " +
                               std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) +
                               (integers ? " integers" : " random");
      check_pool<float>(s, x, dy, what + " f32");
      check_pool<bf16>(s, x, dy, what + " bf16");
    }
  }
}

template <typename T>
void check_global(int batch, int pixels, int channels) {
  const std::size_t n = std::size_t(batch) * pixels * channels;
  const std::vector<float> x = test::rounded_to_bf16(test::random_values(n, 21));
  const std::vector<float> dy =
      test::rounded_to_bf16(test::random_values(std::size_t(batch) * channels, 22));
  std::vector<float> y(std::size_t(batch) * channels), dx(n);
  cpu::global_avg_pool_forward(batch, pixels, channels, x.data(), y.data());
  cpu::global_avg_pool_backward(batch, pixels, channels, dy.data(), dx.data());
  const std::vector<T> x_t = as<T>(x), dy_t = as<T>(dy);
  for (int k = 0; k < kTestScheduleCount; ++k) {
    const ScopedSchedule schedule(test_schedule(k));
    std::vector<T> got_y(y.size()), got_dx(n);
    simt::global_avg_pool_forward(batch, pixels, channels, x_t.data(), got_y.data(), nullptr);
    simt::global_avg_pool_backward(batch, pixels, channels, dy_t.data(), got_dx.data(), nullptr);
    EXPECT_EQ(widen(got_y), expect<T>(y)) << "pixels " << pixels << ", schedule " << k;
    EXPECT_EQ(widen(got_dx), expect<T>(dx)) << "pixels " << pixels << ", schedule " << k;
  }
}

TEST(PoolSimt, GlobalAveragePoolEqualsTheCpuBackendBitForBit) {
  check_global<float>(3, 49, 40);  // ResNet's 7x7 bottleneck
  check_global<bf16>(3, 49, 40);
  check_global<float>(2, 1, 7);
  check_global<bf16>(1, 64, 300);
}

}  // namespace
}  // namespace sombrero::kernels
