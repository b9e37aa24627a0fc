// wgmma emulation (runtime/warpgroup_mma.h): a GEMM through wgmma m64n64k16 and m64n128k16,
// with operands K-major (128B-swizzled, or unswizzled core matrices) and MN-major (128B-
// swizzled, transposed: B alone, and both), equals the
// reference bit for bit (small integers) under every schedule; the planted pipeline bugs
// (accumulators read before the wait, a tile overwritten before it) give wrong results, and
// a thread that exits with a wgmma in flight, or a descriptor past the shared memory, fails
// the launch. The same kernel runs on a
// real H100 in wgmma_gpu_test.cpp, which is what checks the layouts against the hardware.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/error.h"
#include "tests/simt/kernels/test_kernels.h"
#include "tests/simt/schedules.h"
#include "tests/simt/wgmma_reference.h"

namespace sombrero::simt_test {
namespace {

struct Case {
  int m, n, k;
};

std::vector<float> run(const Case& c, WgmmaLayout layout, WgmmaBug bug) {
  const auto a = small_integer_bf16(std::size_t(c.m) * c.k, 1);
  const auto b = small_integer_bf16(std::size_t(c.n) * c.k, 2);
  std::vector<float> d(std::size_t(c.m) * c.n, -7.0f);
  simt::wgmma_gemm(a.data(), b.data(), d.data(), c.m, c.n, c.k, layout, bug);
  return d;
}

std::vector<float> expected(const Case& c) {
  return reference_product(small_integer_bf16(std::size_t(c.m) * c.k, 1),
                           small_integer_bf16(std::size_t(c.n) * c.k, 2), c.m, c.n, c.k);
}

TEST(SimtWgmma, GemmMatchesTheReferenceInEveryLayoutUnderEverySchedule) {
  for (const Case c : {Case{64, 64, 64}, Case{128, 128, 128}, Case{64, 128, 192}}) {
    const std::vector<float> want = expected(c);
    for (const WgmmaLayout layout : {WgmmaLayout::swizzle128, WgmmaLayout::core_matrices,
                                     WgmmaLayout::swizzle128_b_mn, WgmmaLayout::swizzle128_mn})
      for (const auto& got : under_all_schedules([&] { return run(c, layout, WgmmaBug::none); }))
        EXPECT_EQ(got, want) << c.m << "x" << c.n << "x" << c.k << " layout "
                             << static_cast<int>(layout);
  }
}

TEST(SimtWgmma, AccumulatorsReadBeforeTheWaitAreWrong) {
  const Case c{64, 64, 128};
  EXPECT_NE(run(c, WgmmaLayout::swizzle128, WgmmaBug::accumulators_read_before_wait), expected(c));
}

TEST(SimtWgmma, ATileOverwrittenBeforeTheWaitIsWrong) {
  const Case c{64, 128, 64};
  EXPECT_NE(run(c, WgmmaLayout::swizzle128, WgmmaBug::tile_overwritten_before_wait), expected(c));
}

TEST(SimtWgmma, AThreadExitingWithAWgmmaInFlightFailsTheLaunch) {
  try {
    run(Case{64, 64, 64}, WgmmaLayout::swizzle128, WgmmaBug::exits_with_wgmma_in_flight);
    FAIL() << "the launch should have failed";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("still in flight"), std::string::npos) << error.what();
  }
}

// The emulation reads the tiles through the descriptors: one naming bytes past the block's
// dynamic shared memory fails the launch (on a GPU, an illegal address) instead of reading
// whatever lies there.
TEST(SimtWgmma, ADescriptorPastTheSharedMemoryFailsTheLaunch) {
  for (const WgmmaLayout layout : {WgmmaLayout::swizzle128, WgmmaLayout::core_matrices}) {
    try {
      run(Case{64, 128, 64}, layout, WgmmaBug::b_descriptor_past_shared_memory);
      ADD_FAILURE() << "the launch should have failed (layout " << static_cast<int>(layout) << ")";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("lies outside the block's"), std::string::npos)
          << error.what();
    }
  }
}

}  // namespace
}  // namespace sombrero::simt_test
