// cp.async test kernel: a three-stage shared-memory pipeline over tiles of 256 floats, one
// block of 64 threads, each thread copying 16 bytes of every tile and reading 4 floats that
// another thread copied. Modes plant the two classic pipeline bugs, which the SIMT
// emulation (runtime/simt/async_copy.h) must turn into NaNs.
#include "runtime/async_copy.h"
#include "runtime/kernel_api.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

constexpr int kThreads = 64;
constexpr int kTile = 4 * kThreads;  // floats per tile
constexpr int kStages = 3;

__global__ void async_copy_pipeline_kernel(const float* in, int tiles, float* out,
                                           AsyncCopyMode mode) {
  __shared__ __align__(16) float stages[kStages][kTile];
  const int t = static_cast<int>(threadIdx.x);
  auto issue = [&](int tile) {
    const bool hole = mode == AsyncCopyMode::zero_fill_odd_tiles && tile % 2 == 1;
    runtime::cp_async_16(&stages[tile % kStages][4 * t],
                         hole ? nullptr : in + tile * kTile + 4 * t);
  };
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < tiles) issue(s);
    runtime::cp_async_commit();  // empty groups keep the count uniform
  }
  float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const int reads = 4 * (kThreads - 1 - t);  // another thread's 16 bytes
  for (int i = 0; i < tiles; ++i) {
    const int next = i + kStages - 1;  // goes into the stage tile i - 1 was read from
    if (mode != AsyncCopyMode::missing_wait) runtime::cp_async_wait<kStages - 2>();
    // early_overwrite: refills tile i - 1's stage before the barrier, while slower threads
    // may still be reading it.
    if (mode == AsyncCopyMode::early_overwrite && next < tiles) issue(next);
    __syncthreads();  // tile i visible to all; everyone is done reading tile i - 1's stage
    if (mode != AsyncCopyMode::early_overwrite && next < tiles) issue(next);
    runtime::cp_async_commit();
    for (int j = 0; j < 4; ++j) sum[j] += stages[i % kStages][reads + j];
  }
  for (int j = 0; j < 4; ++j) out[reads + j] = sum[j];
}

}  // namespace

namespace SOMBRERO_EXEC {

void async_copy_pipeline(const float* in, int tiles, float* out, AsyncCopyMode mode) {
  SOMBRERO_LAUNCH(async_copy_pipeline_kernel, dim3(1), dim3(kThreads), 0, nullptr, in, tiles, out,
                  mode);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::simt_test
