// The cluster test kernel (tests/simt/kernels/cluster_kernels.cu) on a real sm_90 GPU: the
// cluster rank, barrier and shared-memory mapping of runtime/cluster.h, as the SIMT build
// emulates them, are the hardware's. Skips without a CUDA device or cluster support.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/device_info.h"
#include "tests/simt/kernels/test_kernels.h"
#include "tests/support/device_buffer.h"

namespace sombrero::simt_test {
namespace {

TEST(ClusterGpu, BlocksReadTheirNeighboursSharedMemory) {
  const auto devices = runtime::cuda_devices();
  if (devices.empty()) GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  if (devices.front().compute_major < 9)
    GTEST_SKIP() << devices.front().name << " has no thread-block clusters (sm_90 and later)";
  for (const int cluster_blocks : {2, 4}) {
    const int clusters = 64, threads = 96;
    test::DeviceBuffer<int> out(
        std::vector<int>(static_cast<std::size_t>(clusters) * cluster_blocks * threads, -7));
    cuda::cluster_exchange(out.get(), clusters, cluster_blocks, threads, ClusterBug::none);
    const std::vector<int> got = out.download();
    int wrong = 0;
    for (int block = 0; block < clusters * cluster_blocks; ++block) {
      const int first = block - block % cluster_blocks;
      const int next = first + (block - first + 1) % cluster_blocks;
      for (int t = 0; t < threads; ++t)
        if (got[static_cast<std::size_t>(block) * threads + t] != 1000 * next + t && wrong++ < 3)
          ADD_FAILURE() << "clusters of " << cluster_blocks << ": block " << block << " thread "
                        << t << " read " << got[static_cast<std::size_t>(block) * threads + t]
                        << ", want " << 1000 * next + t;
    }
    EXPECT_EQ(wrong, 0);
  }
}

}  // namespace
}  // namespace sombrero::simt_test
