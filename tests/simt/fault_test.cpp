// Faults a CPU would otherwise hide: a __syncthreads not reached by every thread of the
// block, and a warp collective whose mask names a lane that never arrives. Each must be
// reported as a sombrero::Error naming the kernel, the block, the site and the threads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/error.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

using testing::HasSubstr;

template <typename Launch>
std::string launch_error(Launch launch) {
  try {
    launch();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "the launch completed: the fault was not reported";
  return "";
}

// A GPU stops a kernel whose vector access is not naturally aligned; the SIMT build, whose
// memcpy would not care, reports it too, so a wrong host-side path choice cannot hide.
TEST(SimtFaults, MisalignedVectorAccessIsReported) {
  alignas(16) float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  float out[4] = {};
  simt::vector_load(x, out);
  EXPECT_EQ(out[3], 4.0f);
  const std::string error = launch_error([&] { simt::vector_load(x + 1, out); });
  EXPECT_THAT(error, HasSubstr("vector_load_kernel"));
  EXPECT_THAT(error, HasSubstr("misaligned address: a 16-byte vector access"));
}

TEST(SimtFaults, EarlyExitBeforeBarrierIsReported) {
  std::vector<int> out(32, 0);
  const std::string message = launch_error([&] { simt::early_exit_before_barrier(out.data()); });
  EXPECT_THAT(message, HasSubstr("kernel early_exit_kernel"));
  EXPECT_THAT(message, HasSubstr("block (0,0,0)"));
  EXPECT_THAT(message, HasSubstr("__syncthreads not reached by all threads"));
  EXPECT_THAT(message, HasSubstr("threads 0-15 wait at __syncthreads (kernels/block_kernels.cu:"));
  EXPECT_THAT(message, HasSubstr("threads 16-31 exited"));
}

TEST(SimtFaults, BarriersAtDifferentSitesAreReported) {
  std::vector<int> out(32, 0);
  const std::string message = launch_error([&] { simt::barrier_in_both_branches(out.data()); });
  EXPECT_THAT(message, HasSubstr("kernel both_branches_kernel"));
  EXPECT_THAT(message, HasSubstr("threads 0-7 wait at __syncthreads (kernels/block_kernels.cu:"));
  EXPECT_THAT(message, HasSubstr("threads 8-31 wait at __syncthreads (kernels/block_kernels.cu:"));
}

TEST(SimtFaults, ShuffleWithAnExitedLaneIsReportedNotHung) {
  std::vector<int> out(32, 0);
  const std::string message = launch_error([&] { simt::shuffle_with_exited_lane(out.data()); });
  EXPECT_THAT(message, HasSubstr("kernel shuffle_with_exited_lane_kernel"));
  EXPECT_THAT(message, HasSubstr("warp collective can never complete"));
  EXPECT_THAT(message,
              HasSubstr("threads 0-30 wait at __shfl_down_sync (kernels/block_kernels.cu:"));
  EXPECT_THAT(message, HasSubstr("mask 0xffffffff"));
  EXPECT_THAT(message, HasSubstr("thread 31 exited"));
}

TEST(SimtFaults, InvalidConfigurationIsReportedLikeTheGpu) {
  std::vector<int> out(4, 0);
  const std::string message = launch_error([&] { simt::barrier_loop(1, 2048, 1, out.data()); });
  EXPECT_THAT(message, HasSubstr("invalid configuration argument"));
  EXPECT_THAT(message, HasSubstr("barrier_loop_kernel"));
}

}  // namespace
}  // namespace sombrero::simt_test
