// Thread-block clusters in the SIMT build: the blocks of a cluster run together, each with
// its own shared memory, reachable from the others through the cluster mapping; the cluster
// barrier orders their writes and reads. Planted bugs (a barrier left out, a block exiting
// while mapped, a block skipping the barrier) must fail, under some schedule or with an
// error naming the cause.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/error.h"
#include "tests/simt/kernels/test_kernels.h"
#include "tests/simt/schedules.h"

namespace sombrero::simt_test {
namespace {

using testing::HasSubstr;

std::vector<int> exchange(int clusters, int cluster_blocks, int threads, ClusterBug bug) {
  std::vector<int> out(static_cast<std::size_t>(clusters) * cluster_blocks * threads, -7);
  simt::cluster_exchange(out.data(), clusters, cluster_blocks, threads, bug);
  return out;
}

std::vector<int> expected_exchange(int clusters, int cluster_blocks, int threads) {
  std::vector<int> want;
  for (int block = 0; block < clusters * cluster_blocks; ++block) {
    const int first = block - block % cluster_blocks;
    const int next = first + (block - first + 1) % cluster_blocks;
    for (int t = 0; t < threads; ++t) want.push_back(1000 * next + t);
  }
  return want;
}

std::string launch_error(int cluster_blocks, ClusterBug bug) {
  try {
    exchange(2, cluster_blocks, 64, bug);
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "the launch completed: the fault was not reported";
  return "";
}

TEST(SimtCluster, BlocksReadEachOthersSharedMemoryUnderEverySchedule) {
  // 40 threads: the last warp of each block is partial, so warps never straddle two blocks.
  for (const int cluster_blocks : {1, 2, 4}) {
    for (const int threads : {40, 64}) {
      const std::vector<int> want = expected_exchange(3, cluster_blocks, threads);
      for (const auto& got : under_all_schedules(
               [&] { return exchange(3, cluster_blocks, threads, ClusterBug::none); }))
        EXPECT_EQ(got, want) << cluster_blocks << " blocks per cluster, " << threads << " threads";
    }
  }
}

TEST(SimtCluster, ReadsWithoutTheBarrierAreARaceTheSchedulesExpose) {
  const std::vector<int> want = expected_exchange(2, 2, 64);
  bool wrong = false;
  for (const auto& got : under_all_schedules(
           [&] { return exchange(2, 2, 64, ClusterBug::missing_barrier_before_reads); }))
    wrong = wrong || got != want;
  EXPECT_TRUE(wrong) << "reading the neighbour's shared memory before the cluster barrier gave "
                        "the right values under every schedule: the race went undetected";
}

TEST(SimtCluster, MappingTheSharedMemoryOfAnExitedBlockIsReported) {
  for (int i = 0; i < ::sombrero::simt::kTestScheduleCount; ++i) {
    const ::sombrero::simt::ScopedSchedule schedule(::sombrero::simt::test_schedule(i));
    const std::string message = launch_error(2, ClusterBug::missing_barrier_before_exit);
    EXPECT_THAT(message, HasSubstr("kernel cluster_exchange_kernel"));
    // Mapped after the neighbour exited, or the neighbour exiting while mapped: which one
    // depends on the order the schedule runs the blocks' threads in.
    EXPECT_THAT(message, testing::AnyOf(HasSubstr("whose threads have all exited"),
                                        HasSubstr("exited while another block of its cluster "
                                                  "may still access its shared memory")));
  }
}

TEST(SimtCluster, ABlockSkippingTheClusterBarrierIsReported) {
  const std::string message = launch_error(2, ClusterBug::one_block_skips_the_barrier);
  EXPECT_THAT(message, HasSubstr("cluster (2,1,1)"));
  EXPECT_THAT(message, HasSubstr("the cluster barrier is not reached by all threads"));
  EXPECT_THAT(message, HasSubstr("threads 0-63 of block (1,0,0) wait at the cluster barrier "
                                 "(kernels/cluster_kernels.cu:"));
}

TEST(SimtCluster, AClusterOfMoreThanEightBlocksIsRefused) {
  EXPECT_EQ(exchange(1, 8, 32, ClusterBug::none), expected_exchange(1, 8, 32));
  try {
    exchange(1, 16, 32, ClusterBug::none);
    ADD_FAILURE() << "a cluster of 16 blocks was accepted (sm_90's portable maximum is 8)";
  } catch (const Error& error) {
    EXPECT_THAT(std::string(error.what()), HasSubstr("a cluster holds 1 to 8 blocks"));
  }
}

}  // namespace
}  // namespace sombrero::simt_test
