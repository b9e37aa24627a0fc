// The wgmma test kernel (tests/simt/kernels/wgmma_kernels.cu) on a real H100: the check that
// the descriptor, swizzle and accumulator layouts documented in runtime/warpgroup_mma.h (and
// emulated by the SIMT build) are the hardware's. Small-integer operands make the product
// exact, so the GPU must match the reference bit for bit in every shared-memory layout.
// Skips with a message without a CUDA device, or where wgmma cannot run (not sm_90, or a
// build without architecture 90a).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/device_info.h"
#include "tests/simt/kernels/test_kernels.h"
#include "tests/simt/wgmma_reference.h"
#include "tests/support/device_buffer.h"

namespace sombrero::simt_test {
namespace {

// Why this machine cannot run the test, or "".
std::string why_no_wgmma() {
  if (runtime::cuda_devices().empty())
    return "no CUDA device: " + runtime::cuda_unavailable_reason();
  return runtime::wgmma_unavailable_reason();
}

TEST(WgmmaGpu, GemmMatchesTheReferenceBitForBitInEveryLayout) {
  if (const std::string reason = why_no_wgmma(); !reason.empty()) GTEST_SKIP() << reason;
  struct Case {
    int m, n, k;
  };
  for (const Case c : {Case{64, 64, 64}, Case{128, 128, 128}, Case{256, 128, 512}}) {
    const auto a = small_integer_bf16(std::size_t(c.m) * c.k, 1);
    const auto b = small_integer_bf16(std::size_t(c.n) * c.k, 2);
    const std::vector<float> want = reference_product(a, b, c.m, c.n, c.k);
    for (const WgmmaLayout layout : {WgmmaLayout::swizzle128, WgmmaLayout::core_matrices,
                                     WgmmaLayout::swizzle128_b_mn, WgmmaLayout::swizzle128_mn}) {
      test::DeviceBuffer<std::uint16_t> da(a), db(b);
      test::DeviceBuffer<float> dd(std::vector<float>(want.size(), -7.0f));
      cuda::wgmma_gemm(da.get(), db.get(), dd.get(), c.m, c.n, c.k, layout, WgmmaBug::none);
      const std::vector<float> got = dd.download();
      std::size_t mismatches = 0;
      for (std::size_t i = 0; i < want.size(); ++i)
        if (got[i] != want[i] && mismatches++ < 3)
          ADD_FAILURE() << c.m << "x" << c.n << "x" << c.k << " layout " << static_cast<int>(layout)
                        << ": d[" << i / c.n << "][" << i % c.n << "] = " << got[i] << ", want "
                        << want[i];
      EXPECT_EQ(mismatches, 0u);
    }
  }
}

}  // namespace
}  // namespace sombrero::simt_test
