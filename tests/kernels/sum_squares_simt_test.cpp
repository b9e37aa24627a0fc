// sum_squares: the CUDA kernel executed on the CPU (runtime/simt) against a naive loop and
// the CPU backend, under every schedule.
// Small-integer inputs make every sum exact (the CUTLASS habit), so those cases compare
// bit for bit; random normal inputs compare within f32 accumulation error.
#include "kernels/reduce/sum_squares.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "runtime/simt/schedule.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

double reference_sum_squares(const std::vector<float>& x) {
  double sum = 0.0;
  for (const float v : x) sum += static_cast<double>(v) * v;
  return sum;
}

std::vector<float> small_integers(std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(static_cast<int>(i * 7 % 9) - 4);
  return x;
}

template <typename T>
float simt_sum_squares(const std::vector<T>& x) {
  std::vector<float> workspace(sum_squares_workspace_floats(x.size()), -1.0f);
  float result = -1.0f;
  simt::sum_squares(x.data(), x.size(), workspace.data(), &result, nullptr);
  return result;
}

const std::size_t kSizes[] = {0, 1, 31, 257, 1000, 4096 * 3 + 17, 70001};

TEST(SumSquaresSimt, SmallIntegersExactUnderEverySchedule) {
  for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
    const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
    for (const std::size_t n : kSizes) {
      const auto x = small_integers(n);
      const auto expected = static_cast<float>(reference_sum_squares(x));
      EXPECT_EQ(simt_sum_squares(x), expected)
          << "f32 n=" << n << " " << sombrero::simt::test_schedule(s).name();
      EXPECT_EQ(simt_sum_squares(test::to_bf16(x)), expected) << "bf16 n=" << n;
    }
  }
}

TEST(SumSquaresSimt, NormalsMatchCpuAndAreDeterministic) {
  const auto x = test::random_values(70001, 2);
  const auto xb = test::to_bf16(x);
  std::vector<float> results, results_bf16;
  for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
    const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
    results.push_back(simt_sum_squares(x));
    results_bf16.push_back(simt_sum_squares(xb));
  }
  const double expected = reference_sum_squares(x);
  // f32 accumulation over ~70 terms per thread, then a 256-way and a 69-way tree.
  EXPECT_NEAR(results[0], expected, expected * 2e-6);
  EXPECT_NEAR(results_bf16[0], cpu::sum_squares(xb.data(), xb.size()), expected * 2e-6);
  for (int s = 1; s < sombrero::simt::kTestScheduleCount; ++s) {
    EXPECT_EQ(results[s], results[0]) << "result depends on the schedule";
    EXPECT_EQ(results_bf16[s], results_bf16[0]) << "result depends on the schedule";
  }
}

}  // namespace
}  // namespace sombrero::kernels
