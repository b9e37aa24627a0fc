// The bulk-copy ring (tests/simt/kernels/bulk_copy_kernels.cu) on a real sm_90 GPU: the check
// that runtime/bulk_copy.h's PTX (mbarrier init, arrive, arrive.expect_tx, try_wait.parity,
// cp.async.bulk) behaves as the SIMT build emulates it. The result is exact (a copy, doubled,
// plus the tile index). Skips without a CUDA device or before sm_90.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/device_info.h"
#include "tests/simt/kernels/test_kernels.h"
#include "tests/support/device_buffer.h"

namespace sombrero::simt_test {
namespace {

TEST(BulkCopyGpu, ARingOfStagesDeliversEveryTile) {
  const auto devices = runtime::cuda_devices();
  if (devices.empty()) GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  if (devices.front().compute_major < 9)
    GTEST_SKIP() << devices.front().name << " has no bulk copies (sm_90 and later)";
  struct Case {
    int tiles, tile_floats;
  };
  // Up to 2 stages of 96 KB (the ring's most) and many uses of each stage.
  for (const Case c : {Case{1, 4}, Case{5, 96}, Case{64, 4096}, Case{7, 24576}}) {
    std::vector<float> in(static_cast<std::size_t>(c.tiles) * c.tile_floats);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 1000) - 300.0f;
    test::DeviceBuffer<float> din(in), dout(std::vector<float>(in.size(), -7.0f));
    cuda::bulk_copy_ring(din.get(), dout.get(), c.tiles, c.tile_floats, BulkCopyBug::none);
    const std::vector<float> got = dout.download();
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const float want = 2.0f * in[i] + static_cast<float>(i / c.tile_floats);
      if (got[i] != want && wrong++ < 3)
        ADD_FAILURE() << c.tiles << " tiles of " << c.tile_floats << " floats: out[" << i
                      << "] = " << got[i] << ", want " << want;
    }
    EXPECT_EQ(wrong, 0u);
  }
}

}  // namespace
}  // namespace sombrero::simt_test
