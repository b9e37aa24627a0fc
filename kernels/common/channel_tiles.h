// Sizes of the channel-tiled layout of the per-channel kernels (channel_tiles.cuh), for the
// host side: the grid and the workspace sizes depend on them. No CUDA here.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace sombrero::kernels {

inline constexpr int kChannelBlockThreads = 256;  // threads per block, all layouts
inline constexpr int kChannelMaxLanesX = 32;      // threads along channels per block, at most
inline constexpr int kChannelRowsPerBlock = 128;  // rows per row block before the grid grows
inline constexpr int kChannelMaxRowBlocks = 256;  // at most; then threads sum more rows

// Row blocks of the reductions, a function of `rows` only (so are the workspace sizes).
inline int channel_row_blocks(std::int64_t rows) {
  return static_cast<int>(std::clamp<std::int64_t>(
      (rows + kChannelRowsPerBlock - 1) / kChannelRowsPerBlock, 1, kChannelMaxRowBlocks));
}

// How a block's 256 threads cover a [rows, channels] activation: each thread owns `vector`
// consecutive channels (1, or one 16-byte vector: 8 bf16 / 4 f32), lanes_x threads side by
// side along the channel vectors (so a warp reads lanes_x * 16 contiguous bytes of a row, or
// whole consecutive rows when a row is narrower than a warp) and lanes_y along rows.
struct ChannelTiling {
  int vector;   // channels per thread
  int vectors;  // channels / vector
  int lanes_x;  // threads along channel vectors: min(vectors, 32)
  int lanes_y;  // threads along rows: 256 / lanes_x (the rest of the block idles)
};

// vectorized: the caller checked rows_split_into_16_byte_vectors for every tensor involved.
inline ChannelTiling channel_tiling(int channels, std::size_t element_bytes, bool vectorized) {
  const int vector = vectorized ? static_cast<int>(16 / element_bytes) : 1;
  const int vectors = channels / vector;
  const int lanes_x = std::clamp(vectors, 1, kChannelMaxLanesX);
  return {vector, vectors, lanes_x, kChannelBlockThreads / lanes_x};
}

}  // namespace sombrero::kernels
