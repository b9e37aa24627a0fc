// FastDivmod (kernels/common/fast_divmod.cuh) on the host, compiled as the SIMT build compiles
// kernel code: div and divmod against the built-in / and % for every divisor 1..4096, every
// power of two up to 2^30, the largest divisors, and thousands of random divisors of every
// bit length, each with the dividends where an approximate reciprocal goes wrong first
// (next to multiples of d, the largest multiples, 2^31 - 1) and random ones.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

// Last: in the SIMT build, kernel headers define CUDA's keywords (__noinline__ ...) as macros,
// which the standard and gtest headers must not see.
#include "kernels/common/fast_divmod.cuh"

namespace sombrero::kernels {
namespace {

constexpr int kMaxDividend = std::numeric_limits<int>::max();  // 2^31 - 1

// The edge dividends of divisor d (those in [0, 2^31)) and `random` uniform ones.
std::vector<int> dividends(int d, int random, std::mt19937& rng) {
  std::vector<long long> candidates = {
      0, 1, 2, d - 1ll, d, d + 1ll, kMaxDividend, kMaxDividend - 1ll};
  const long long top = kMaxDividend / d;  // the largest multiple is top * d
  for (const long long k : {2ll, 3ll, 7ll, 1000ll, top / 2, top - 1, top, top + 1}) {
    candidates.push_back(k * d - 1);
    candidates.push_back(k * d);
    candidates.push_back(k * d + 1);
  }
  std::vector<int> result;
  for (const long long n : candidates)
    if (n >= 0 && n <= kMaxDividend) result.push_back(static_cast<int>(n));
  std::uniform_int_distribution<int> uniform(0, kMaxDividend);
  for (int i = 0; i < random; ++i) result.push_back(uniform(rng));
  return result;
}

// Every dividend of d through div and divmod; reports the first few mismatches.
void expect_exact(int d, int random, std::mt19937& rng) {
  const FastDivmod divisor(d);
  ASSERT_EQ(divisor.divisor(), d);
  int failures = 0;
  for (const int n : dividends(d, random, rng)) {
    int quotient = -1, remainder = -1;
    divisor.divmod(n, quotient, remainder);
    const int fast = divisor.div(n);
    if (fast != n / d || quotient != n / d || remainder != n % d) {
      ADD_FAILURE() << n << " / " << d << ": div " << fast << ", divmod " << quotient << " r "
                    << remainder << ", expected " << n / d << " r " << n % d;
      if (++failures == 5) return;
    }
  }
}

TEST(FastDivmod, ExactForSmallDivisors) {
  std::mt19937 rng(1);
  for (int d = 1; d <= 4096; ++d) expect_exact(d, 1000, rng);
}

TEST(FastDivmod, ExactForPowersOfTwoAndTheirNeighbours) {
  std::mt19937 rng(2);
  for (int l = 0; l <= 30; ++l) {
    const int power = 1 << l;
    expect_exact(power, 1000, rng);
    expect_exact(power + 1, 1000, rng);
    if (power > 1) expect_exact(power - 1, 1000, rng);
  }
}

TEST(FastDivmod, ExactForTheLargestDivisors) {
  std::mt19937 rng(3);
  for (const int d : {kMaxDividend, kMaxDividend - 1, kMaxDividend - 2, (1 << 30) + 3,
                      kMaxDividend / 3, 46341 /* ceil(sqrt(2^31)) */})
    expect_exact(d, 1000, rng);
}

TEST(FastDivmod, ExactForRandomDivisorsOfEveryLength) {
  std::mt19937 rng(4);
  for (int bits = 2; bits <= 31; ++bits) {
    // Divisors with exactly `bits` bits: [2^(bits-1), 2^bits - 1].
    std::uniform_int_distribution<long long> uniform(1ll << (bits - 1), (1ll << bits) - 1);
    for (int i = 0; i < 1000; ++i) expect_exact(static_cast<int>(uniform(rng)), 100, rng);
  }
}

TEST(FastDivmod, RejectsDivisorsBelowOne) {
  EXPECT_THROW(FastDivmod(0), Error);
  EXPECT_THROW(FastDivmod(-3), Error);
}

}  // namespace
}  // namespace sombrero::kernels
