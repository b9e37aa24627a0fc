// cp.async emulation: a correct multi-stage pipeline gives exact sums under every schedule
// (including zero-filled copies from a null source), and the two classic pipeline bugs,
// reading a stage before waiting for it and refilling a stage other threads still read,
// come out as NaNs instead of passing by luck.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "runtime/error.h"
#include "tests/simt/kernels/test_kernels.h"
#include "tests/simt/schedules.h"

namespace sombrero::simt_test {
namespace {

constexpr int kTile = 256;

std::vector<float> tiles_input(int tiles) {
  std::vector<float> in(static_cast<std::size_t>(tiles) * kTile);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>((i * 37) % 19) - 9.0f;
  return in;
}

std::vector<float> run(const std::vector<float>& in, int tiles, AsyncCopyMode mode) {
  std::vector<float> out(kTile, -1.0f);
  simt::async_copy_pipeline(in.data(), tiles, out.data(), mode);
  return out;
}

std::vector<float> reference(const std::vector<float>& in, int tiles, bool skip_odd) {
  std::vector<float> sums(kTile, 0.0f);
  for (int tile = 0; tile < tiles; ++tile)
    for (int i = 0; i < kTile; ++i)
      if (!skip_odd || tile % 2 == 0) sums[i] += in[static_cast<std::size_t>(tile) * kTile + i];
  return sums;
}

int non_finite(const std::vector<float>& values) {
  int count = 0;
  for (const float v : values) count += std::isfinite(v) ? 0 : 1;
  return count;
}

TEST(SimtAsyncCopy, PipelineSumsExactlyUnderEverySchedule) {
  for (const int tiles : {1, 2, 3, 7}) {
    const std::vector<float> in = tiles_input(tiles);
    for (const auto& out :
         under_all_schedules([&] { return run(in, tiles, AsyncCopyMode::correct); }))
      EXPECT_EQ(out, reference(in, tiles, false)) << tiles << " tiles";
  }
}

TEST(SimtAsyncCopy, NullSourceFillsZeros) {
  const int tiles = 6;
  const std::vector<float> in = tiles_input(tiles);
  for (const auto& out :
       under_all_schedules([&] { return run(in, tiles, AsyncCopyMode::zero_fill_odd_tiles); }))
    EXPECT_EQ(out, reference(in, tiles, true));
}

TEST(SimtAsyncCopy, ReadingBeforeTheWaitReadsPoison) {
  const int tiles = 5;
  const std::vector<float> in = tiles_input(tiles);
  for (const auto& out :
       under_all_schedules([&] { return run(in, tiles, AsyncCopyMode::missing_wait); }))
    EXPECT_EQ(non_finite(out), kTile);  // every element summed at least one undelivered tile
}

TEST(SimtAsyncCopy, RefillingAStageBeforeTheBarrierIsCaught) {
  const int tiles = 5;
  const std::vector<float> in = tiles_input(tiles);
  for (const auto& out :
       under_all_schedules([&] { return run(in, tiles, AsyncCopyMode::early_overwrite); }))
    EXPECT_GT(non_finite(out), 0);
}

}  // namespace
}  // namespace sombrero::simt_test
