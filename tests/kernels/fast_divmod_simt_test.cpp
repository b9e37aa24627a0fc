// FastDivmod inside a kernel executed by the SIMT emulation (runtime/simt), the way the
// convolution kernels use it: every thread divides its own dividend by a divisor passed
// as a kernel parameter. The quotients and remainders must equal the host's / and %.
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

#include "tests/kernels/fast_divmod_kernel.h"

namespace sombrero::kernels::test {
namespace {

constexpr int kMaxDividend = std::numeric_limits<int>::max();

// Dividends next to multiples of d, the extremes, and uniform random ones.
std::vector<int> dividends(int d, std::mt19937& rng) {
  std::vector<int> result = {0, 1, kMaxDividend, kMaxDividend - 1};
  const int top = kMaxDividend / d;
  for (const int k : {1, 2, 3, top - 1, top}) {
    if (k < 1) continue;
    const long long multiple = static_cast<long long>(k) * d;
    for (const long long n : {multiple - 1, multiple, multiple + 1})
      if (n >= 0 && n <= kMaxDividend) result.push_back(static_cast<int>(n));
  }
  std::uniform_int_distribution<int> uniform(0, kMaxDividend);
  while (result.size() < 300) result.push_back(uniform(rng));  // 3 blocks of 128, the last partial
  return result;
}

TEST(FastDivmodSimt, KernelQuotientsAndRemaindersMatchTheHost) {
  std::mt19937 rng(5);
  std::vector<int> divisors = {
      1, 2, 3, 7, 9, 56, 64, 147, 1000, 4096, 12544, 802816, (1 << 30) + 1, kMaxDividend};
  std::uniform_int_distribution<int> uniform(1, kMaxDividend);
  for (int i = 0; i < 20; ++i) divisors.push_back(uniform(rng));
  for (const int d : divisors) {
    const std::vector<int> n = dividends(d, rng);
    const int count = static_cast<int>(n.size());
    std::vector<int> quotients(n.size(), -1), divmod_quotients(n.size(), -1),
        remainders(n.size(), -1);
    simt::fast_divmod(n.data(), count, d, quotients.data(), divmod_quotients.data(),
                      remainders.data(), nullptr);
    for (int i = 0; i < count; ++i) {
      ASSERT_EQ(quotients[i], n[i] / d) << n[i] << " / " << d << " (div)";
      ASSERT_EQ(divmod_quotients[i], n[i] / d) << n[i] << " / " << d << " (divmod)";
      ASSERT_EQ(remainders[i], n[i] % d) << n[i] << " % " << d;
    }
  }
}

}  // namespace
}  // namespace sombrero::kernels::test
