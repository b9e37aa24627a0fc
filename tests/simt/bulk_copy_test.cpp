// Bulk copies and mbarriers (runtime/bulk_copy.h) in the SIMT build: a two-stage ring of bulk
// copies gives every tile, in order, under every schedule, from one-tile runs to ones that
// reuse each stage many times; each planted protocol bug fails loudly (a wrong result, or an
// error naming the cause) instead of passing by luck of the schedule. The same kernel runs on
// a GPU in bulk_copy_gpu_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "tests/simt/kernels/test_kernels.h"
#include "tests/simt/schedules.h"

namespace sombrero::simt_test {
namespace {

using testing::HasSubstr;

std::vector<float> input(int tiles, int tile_floats) {
  std::vector<float> in(static_cast<std::size_t>(tiles) * tile_floats);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 1000) - 300.0f;
  return in;
}

std::vector<float> expected(const std::vector<float>& in, int tile_floats) {
  std::vector<float> out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    out[i] = 2.0f * in[i] + static_cast<float>(i / tile_floats);
  return out;
}

std::vector<float> run(const std::vector<float>& in, int tiles, int tile_floats, BulkCopyBug bug) {
  std::vector<float> out(in.size(), -7.0f);
  simt::bulk_copy_ring(in.data(), out.data(), tiles, tile_floats, bug);
  return out;
}

// The error the launch ends with, or "" when it completes with the right result.
std::string failure(int tiles, int tile_floats, BulkCopyBug bug) {
  const std::vector<float> in = input(tiles, tile_floats);
  try {
    if (run(in, tiles, tile_floats, bug) != expected(in, tile_floats)) return "wrong result";
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(SimtBulkCopy, ARingOfStagesDeliversEveryTileUnderEverySchedule) {
  struct Case {
    int tiles, tile_floats;
  };
  for (const Case c : {Case{1, 4}, Case{2, 100}, Case{5, 96}, Case{9, 1024}}) {
    const std::vector<float> in = input(c.tiles, c.tile_floats);
    const std::vector<float> want = expected(in, c.tile_floats);
    for (const auto& got :
         under_all_schedules([&] { return run(in, c.tiles, c.tile_floats, BulkCopyBug::none); }))
      EXPECT_EQ(got, want) << c.tiles << " tiles of " << c.tile_floats << " floats";
  }
}

TEST(SimtBulkCopy, ReadingAStageWithoutWaitingFails) {
  for (int s = 0; s < ::sombrero::simt::kTestScheduleCount; ++s) {
    const ::sombrero::simt::ScopedSchedule schedule(::sombrero::simt::test_schedule(s));
    // One tile: the consumers read poisoned bytes (NaN) and leave; its copy never lands.
    const std::vector<float> in = input(1, 64);
    std::vector<float> out(in.size(), -7.0f);
    try {
      simt::bulk_copy_ring(in.data(), out.data(), 1, 64, BulkCopyBug::consumers_skip_the_full_wait);
      ADD_FAILURE() << "the launch should have failed";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), HasSubstr("all exited with 1 bulk copy in flight"));
    }
    for (const float value : out) EXPECT_TRUE(std::isnan(value)) << value;
    // Four: the consumers' early arrivals complete `empty` twice before the producer waits
    // on its first phase, whose parity then reads as not completed (as on the GPU): a wait
    // no one can end, reported, or whatever else the schedule makes of it, never a pass.
    EXPECT_NE(failure(4, 64, BulkCopyBug::consumers_skip_the_full_wait), "");
  }
}

TEST(SimtBulkCopy, RefillingAStageBeforeItIsEmptiedFails) {
  // The second arrival on `full` lands in a phase that expects one.
  for (int s = 0; s < ::sombrero::simt::kTestScheduleCount; ++s) {
    const ::sombrero::simt::ScopedSchedule schedule(::sombrero::simt::test_schedule(s));
    EXPECT_THAT(failure(4, 64, BulkCopyBug::producer_skips_the_empty_wait),
                HasSubstr("1 arrival(s) on a phase with 0 pending"));
  }
}

TEST(SimtBulkCopy, AWaitNoThreadCanCompleteIsReportedWithTheWaitingThreads) {
  const std::string error = failure(3, 64, BulkCopyBug::empty_expects_one_too_many);
  EXPECT_THAT(error, HasSubstr("an mbarrier wait can never complete"));
  EXPECT_THAT(error, HasSubstr("thread 0 wait at mbarrier_wait ("));
  EXPECT_THAT(error, HasSubstr("1 of 97 arrivals pending"));
  // Two tiles use each stage once: the producer never waits on `empty`.
  EXPECT_EQ(failure(2, 64, BulkCopyBug::empty_expects_one_too_many), "");
}

TEST(SimtBulkCopy, ABarrierUsedBeforeItsInitIsReported) {
  EXPECT_THAT(failure(1, 4, BulkCopyBug::no_init), HasSubstr("used before mbarrier_init"));
}

}  // namespace
}  // namespace sombrero::simt_test
