// A two-stage ring fed by bulk copies (runtime/bulk_copy.h): lane 0 of warp 0 produces, warps
// 1-3 consume; each stage has a `full` barrier (the producer's arrive_expect_tx + its copy)
// and an `empty` one (the 96 consumers' arrivals). Planted bugs: see BulkCopyBug.
#include "runtime/bulk_copy.h"
#include "runtime/kernel_api.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

constexpr int kStages = 2;
constexpr int kThreads = 128;
constexpr unsigned kConsumers = kThreads - 32;

__global__ void __launch_bounds__(kThreads)
    bulk_copy_ring_kernel(const float* in, float* out, int tiles, int tile_floats,
                          BulkCopyBug bug) {
  SOMBRERO_DYNAMIC_SHARED(float, shared);
  // The barriers first (8-byte words), then the stages (16-byte aligned).
  auto* const full = reinterpret_cast<std::uint64_t*>(shared);
  std::uint64_t* const empty = full + kStages;
  float* const stages = shared + 4 * kStages;
  const int thread = static_cast<int>(threadIdx.x);
  if (thread == 0 && bug != BulkCopyBug::no_init) {
    const unsigned consumers =
        kConsumers + (bug == BulkCopyBug::empty_expects_one_too_many ? 1u : 0u);
    for (int s = 0; s < kStages; ++s) {
      runtime::mbarrier_init(&full[s], 1);
      runtime::mbarrier_init(&empty[s], consumers);
    }
  }
  __syncthreads();
  const unsigned bytes = static_cast<unsigned>(tile_floats) * 4u;
  if (thread == 0) {
    for (int t = 0; t < tiles; ++t) {
      const int stage = t % kStages, use = t / kStages;
      if (use > 0 && bug != BulkCopyBug::producer_skips_the_empty_wait)
        runtime::mbarrier_wait(&empty[stage], static_cast<unsigned>(use - 1) & 1u);
      runtime::mbarrier_arrive_expect_tx(&full[stage], bytes);
      runtime::bulk_copy_to_shared(stages + stage * tile_floats,
                                   in + static_cast<std::size_t>(t) * tile_floats, bytes,
                                   &full[stage]);
    }
  } else if (thread >= 32) {
    for (int t = 0; t < tiles; ++t) {
      const int stage = t % kStages, use = t / kStages;
      if (bug != BulkCopyBug::consumers_skip_the_full_wait)
        runtime::mbarrier_wait(&full[stage], static_cast<unsigned>(use) & 1u);
      const float* const tile = stages + stage * tile_floats;
      for (int i = thread - 32; i < tile_floats; i += static_cast<int>(kConsumers))
        out[static_cast<std::size_t>(t) * tile_floats + i] = 2.0f * tile[i] + static_cast<float>(t);
      runtime::mbarrier_arrive(&empty[stage]);
    }
  }
  // Warp 0's other lanes and the producer leave; the consumers have waited for every copy.
}

}  // namespace

namespace SOMBRERO_EXEC {

void bulk_copy_ring(const float* in, float* out, int tiles, int tile_floats, BulkCopyBug bug) {
  SOMBRERO_CHECK(tiles >= 1 && tile_floats >= 4 && tile_floats % 4 == 0,
                 "bulk_copy_ring: tiles >= 1 and tile_floats a positive multiple of 4, got ", tiles,
                 " and ", tile_floats);
  const std::size_t shared_bytes = 16 * kStages + std::size_t(kStages) * tile_floats * 4;
  runtime::allow_dynamic_shared_memory(bulk_copy_ring_kernel, shared_bytes);
  SOMBRERO_LAUNCH(bulk_copy_ring_kernel, dim3(1), dim3(kThreads), shared_bytes, nullptr, in, out,
                  tiles, tile_floats, bug);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::simt_test
