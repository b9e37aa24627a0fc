// The channel-tiled layout shared by the per-channel kernels of the layers (BatchNorm, bias
// gradient): an NHWC activation viewed as [rows, channels], a block of 32 x 8 threads covers
// 32 consecutive channels (threadIdx.x, so a warp reads 32 neighbouring values of one row:
// 128 contiguous bytes in f32) and 8 rows at a time (threadIdx.y). Grid: (ceil(channels / 32),
// row_blocks); block (bx, by) visits rows by * 8 + ty + k * row_blocks * 8, k = 0, 1, ...
//
// Per-channel sums are deterministic two-level reductions, no float atomics:
//   1. channel_partial_sums_kernel: each thread accumulates its rows in order (f32), the
//      block adds its 8 row-lanes in order (ty = 0..7) and writes partials[by][sum][c];
//   2. the caller's finalize kernel adds the row_blocks partials of a channel in order
//      (in double) with sum_channel_partials.
// The grid depends on the shape only, so the result does too (and the GPU and the SIMT
// execution agree bit for bit: every product is an explicit fmaf or rounded alone).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/common/channel_tiles.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {

inline dim3 channel_tile_grid(std::int64_t rows, int channels) {
  return dim3(static_cast<unsigned>((channels + kChannelTileX - 1) / kChannelTileX),
              static_cast<unsigned>(channel_row_blocks(rows)));
}

// Grid of the elementwise passes over the same layout (each thread handles one channel of
// about 16 rows, up to 8192 row blocks; more blocks than the reductions, whose partials must
// stay few for phase 2).
inline dim3 channel_elementwise_grid(std::int64_t rows, int channels) {
  const std::int64_t per_block = std::int64_t(kChannelTileY) * 16;
  return dim3(
      static_cast<unsigned>((channels + kChannelTileX - 1) / kChannelTileX),
      static_cast<unsigned>(std::clamp<std::int64_t>((rows + per_block - 1) / per_block, 1, 8192)));
}

inline dim3 channel_tile_block() {
  return dim3(kChannelTileX, kChannelTileY);
}

// Phase 1. Term: a copyable struct with
//   __device__ void operator()(std::int64_t row, int channel, float (&sums)[kSums]) const
// that adds its terms of element (row, channel) into sums (explicitly: fmaf or plain adds).
// partials: [gridDim.y][kSums][channels].
template <int kSums, typename Term>
__global__ void __launch_bounds__(kChannelTileX* kChannelTileY)
    channel_partial_sums_kernel(std::int64_t rows, int channels, Term term,
                                float* __restrict__ partials) {
  __shared__ float lanes[kSums][kChannelTileY][kChannelTileX];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int c = static_cast<int>(blockIdx.x) * kChannelTileX + tx;
  float sums[kSums];
  for (int s = 0; s < kSums; ++s) sums[s] = 0.0f;
  if (c < channels) {
    const std::int64_t step = std::int64_t(gridDim.y) * kChannelTileY;
    for (std::int64_t r = std::int64_t(blockIdx.y) * kChannelTileY + ty; r < rows; r += step)
      term(r, c, sums);
  }
  for (int s = 0; s < kSums; ++s) lanes[s][ty][tx] = sums[s];
  __syncthreads();
  if (ty == 0 && c < channels) {
    for (int s = 0; s < kSums; ++s) {
      float total = lanes[s][0][tx];
      for (int y = 1; y < kChannelTileY; ++y) total += lanes[s][y][tx];
      partials[(std::int64_t(blockIdx.y) * kSums + s) * channels + c] = total;
    }
  }
}

// Phase 2 helper: the `sum`-th sum of channel c over `row_blocks` partials, in order, in double.
__device__ __forceinline__ double sum_channel_partials(const float* __restrict__ partials,
                                                       int row_blocks, int sums, int sum,
                                                       int channels, int c) {
  double total = 0.0;
  for (int b = 0; b < row_blocks; ++b)
    total += static_cast<double>(partials[(std::int64_t(b) * sums + sum) * channels + c]);
  return total;
}

}  // namespace sombrero::kernels
