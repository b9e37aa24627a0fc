// sum_squares: the CPU backend against a naive loop (the SIMT execution: sum_squares_simt_test).
// Small-integer inputs make every sum exact (the CUTLASS habit), so those cases compare
// bit for bit; random normal inputs compare within f32 accumulation error.
#include "kernels/reduce/sum_squares.h"
#include "tests/support/test_values.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

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

const std::size_t kSizes[] = {0, 1, 31, 257, 1000, 4096 * 3 + 17, 70001};

TEST(SumSquaresCpu, SmallIntegersExact) {
  for (const std::size_t n : kSizes) {
    const auto x = small_integers(n);
    EXPECT_EQ(cpu::sum_squares(x.data(), n), static_cast<float>(reference_sum_squares(x)))
        << "n=" << n;
    const auto xb = test::to_bf16(x);  // small integers are exact in bf16
    EXPECT_EQ(cpu::sum_squares(xb.data(), n), static_cast<float>(reference_sum_squares(x)))
        << "n=" << n;
  }
}

TEST(SumSquaresCpu, NormalsWithinRounding) {
  const auto x = test::random_values(200003, 1);
  const double expected = reference_sum_squares(x);
  EXPECT_NEAR(cpu::sum_squares(x.data(), x.size()), expected, expected * 1e-7);
}

TEST(SumSquares, GridDependsOnlyOnSize) {
  EXPECT_EQ(sum_squares_blocks(0), 1u);
  EXPECT_EQ(sum_squares_blocks(1024), 1u);
  EXPECT_EQ(sum_squares_blocks(1025), 2u);
  EXPECT_EQ(sum_squares_blocks(std::size_t{1} << 30), kSumSquaresMaxBlocks);
}

}  // namespace
}  // namespace sombrero::kernels
