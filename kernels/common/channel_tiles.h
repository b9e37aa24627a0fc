// Sizes of the channel-tiled layout of the per-channel kernels (channel_tiles.cuh), for the
// host side: workspace sizes depend on them. No CUDA here.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sombrero::kernels {

inline constexpr int kChannelTileX = 32;          // channels per block
inline constexpr int kChannelTileY = 8;           // rows per block step
inline constexpr int kChannelRowsPerThread = 16;  // rows a thread sums before the grid grows
inline constexpr int kChannelMaxRowBlocks = 256;  // at most; then threads sum more rows

// Row blocks of the channel-tiled grid, a function of `rows` only.
inline int channel_row_blocks(std::int64_t rows) {
  const std::int64_t per_block = std::int64_t(kChannelTileY) * kChannelRowsPerThread;
  return static_cast<int>(
      std::clamp<std::int64_t>((rows + per_block - 1) / per_block, 1, kChannelMaxRowBlocks));
}

}  // namespace sombrero::kernels
