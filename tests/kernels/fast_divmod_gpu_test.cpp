// FastDivmod on a real GPU (__umulhi in hardware) against the host's / and %, through the
// same test kernel the SIMT test runs. Skips with a message when no CUDA device is present.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

#include "runtime/cuda_check.h"
#include "runtime/device_info.h"
#include "tests/kernels/fast_divmod_kernel.h"

namespace sombrero::kernels::test {
namespace {

constexpr int kMaxDividend = std::numeric_limits<int>::max();

TEST(FastDivmodGpu, KernelQuotientsAndRemaindersMatchTheHost) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  std::mt19937 rng(6);
  std::uniform_int_distribution<int> uniform(0, kMaxDividend), uniform_divisor(1, kMaxDividend);
  constexpr int kCount = 1 << 16;
  int* device = nullptr;  // dividends, quotients, divmod quotients, remainders
  SOMBRERO_CHECK_CUDA(cudaMalloc(&device, 4 * kCount * sizeof(int)));
  std::vector<int> divisors = {1,           2, 3, 7, 9, 56, 64, 147, 4096, 12544, (1 << 30) + 1,
                               kMaxDividend};
  for (int i = 0; i < 20; ++i) divisors.push_back(uniform_divisor(rng));
  for (const int d : divisors) {
    // Dividends next to multiples of d (the largest ones included), the extremes, random.
    std::vector<int> n = {0, 1, kMaxDividend, kMaxDividend - 1};
    const long long top = kMaxDividend / d;
    for (const long long k : {1ll, 2ll, 3ll, top / 2, top - 1, top})
      for (const long long delta : {-1ll, 0ll, 1ll})
        if (const long long v = k * d + delta; v >= 0 && v <= kMaxDividend)
          n.push_back(static_cast<int>(v));
    while (n.size() < kCount) n.push_back(uniform(rng));
    SOMBRERO_CHECK_CUDA(cudaMemcpy(device, n.data(), kCount * sizeof(int), cudaMemcpyHostToDevice));
    cuda::fast_divmod(device, kCount, d, device + kCount, device + 2 * kCount, device + 3 * kCount,
                      nullptr);
    std::vector<int> results(3 * kCount);
    SOMBRERO_CHECK_CUDA(cudaMemcpy(results.data(), device + kCount, 3 * kCount * sizeof(int),
                                   cudaMemcpyDeviceToHost));
    for (int i = 0; i < kCount; ++i) {
      ASSERT_EQ(results[i], n[i] / d) << n[i] << " / " << d << " (div)";
      ASSERT_EQ(results[kCount + i], n[i] / d) << n[i] << " / " << d << " (divmod)";
      ASSERT_EQ(results[2 * kCount + i], n[i] % d) << n[i] << " % " << d;
    }
  }
  SOMBRERO_CHECK_CUDA(cudaFree(device));
}

}  // namespace
}  // namespace sombrero::kernels::test
