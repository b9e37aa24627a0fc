// Block-level emulation: shared memory, __syncthreads, and the planted races that the
// schedules must expose (a kernel missing one barrier gives schedule-dependent output).
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "tests/simt/kernels/test_kernels.h"
#include "tests/simt/schedules.h"

namespace sombrero::simt_test {
namespace {

std::vector<int> block_sums(const std::vector<int>& x, int blocks, bool racy) {
  std::vector<int> sums(static_cast<std::size_t>(blocks), -1);
  simt::block_sum(x.data(), blocks, sums.data(), racy);
  return sums;
}

std::vector<int> block_input(int blocks) {
  std::vector<int> x(static_cast<std::size_t>(blocks) * 256);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int>((i * 7919) % 23) - 11;
  return x;
}

TEST(SimtBlock, ReductionMatchesReferenceUnderEverySchedule) {
  const int blocks = 5;
  const std::vector<int> x = block_input(blocks);
  std::vector<int> expected(blocks);
  for (int b = 0; b < blocks; ++b)
    expected[b] = std::accumulate(x.begin() + b * 256, x.begin() + (b + 1) * 256, 0);
  for (const auto& sums : under_all_schedules([&] { return block_sums(x, blocks, false); }))
    EXPECT_EQ(sums, expected);
}

TEST(SimtBlock, ReductionMissingABarrierIsDetected) {
  const int blocks = 5;
  const std::vector<int> x = block_input(blocks);
  const auto results = under_all_schedules([&] { return block_sums(x, blocks, true); });
  const bool differs = results[0] != results[1] || results[0] != results[2];
  EXPECT_TRUE(differs) << "the reduction without its loop __syncthreads gave the same sums under "
                          "in_order, reversed and shuffled schedules: the race went undetected";
}

std::vector<float> transposed(const std::vector<float>& in, int rows, int cols, bool racy) {
  std::vector<float> out(in.size(), -1.0f);
  simt::transpose(in.data(), rows, cols, out.data(), racy);
  return out;
}

TEST(SimtBlock, TransposeThroughSharedTileMatchesReference) {
  const int rows = 45, cols = 70;  // not multiples of the 32x32 tile
  std::vector<float> in(static_cast<std::size_t>(rows) * cols);
  std::iota(in.begin(), in.end(), 0.0f);
  std::vector<float> expected(in.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) expected[c * rows + r] = in[r * cols + c];
  for (const auto& out : under_all_schedules([&] { return transposed(in, rows, cols, false); }))
    EXPECT_EQ(out, expected);
}

TEST(SimtBlock, TransposeMissingTheBarrierIsDetected) {
  const int rows = 64, cols = 64;
  std::vector<float> in(static_cast<std::size_t>(rows) * cols);
  std::iota(in.begin(), in.end(), 1.0f);
  const auto results = under_all_schedules([&] { return transposed(in, rows, cols, true); });
  const bool differs = results[0] != results[1] || results[0] != results[2];
  EXPECT_TRUE(differs) << "the transpose without its __syncthreads gave the same output under "
                          "every schedule: the race went undetected";
}

}  // namespace
}  // namespace sombrero::simt_test
