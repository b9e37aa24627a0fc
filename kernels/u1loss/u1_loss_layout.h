// Constants of the fused loss kernels (u1_loss.cu) that host code needs too: the block sizes
// and the resident kernel's shared-memory layout, whose size the host checks before choosing
// that kernel (u1_loss_kernel_choice.cpp).
#pragma once

#include <cstddef>

namespace sombrero::kernels::u1_layout {

inline constexpr int kStreamingThreads = 256;
inline constexpr int kResidentThreads = 512;
// The harmonic table cos/sin(2 pi n / N) sits in shared memory for N <= this; wider rows
// compute each harmonic where it is used.
inline constexpr int kTableChannels = 4096;

// Blocks per sample of the resident kernel: 1, or a pair (a 2-block cluster, sm_90) when
// the sample does not fit one block's shared memory (7x7x2048 f32: 392 KB).
inline constexpr int kResidentPairBlocks = 2;

// The resident kernel's dynamic shared memory, in this order (each part a multiple of 16
// bytes when the rows are, so the activation starts 16-byte aligned for vector accesses):
//   scratch     per warp of the kResidentThreads / 32: 2 x kResidentTotalSlots floats (the
//               per-sample block reduction, double-buffered: alternate samples use
//               alternate halves) and 8 floats for the angle readout's reduction; then
//               2 x kResidentTotalSlots floats where a block of a pair leaves its totals for
//               the other (double-buffered the same way)
//   landed      kResidentLandedRows mbarriers (8 bytes each), one per row of 512 vectors
//               of the block's share, for a first sweep fed by bulk copies
//               (U1ResidentTuning::bulk_first_sweep; unused otherwise)
//   table       cos then sin, N floats each (N <= kTableChannels, else absent)
//   activation  the block's share of the sample: all of its H x W x N elements, NHWC, as
//               stored in global memory; in a pair, rank r holds the r-th half of them
//               (flattened, rounded up to a multiple of 8 elements)
inline constexpr int kResidentTotalSlots = 16;  // 9 used: 6 moments, sum of logits, softmax
inline constexpr std::size_t kResidentScratchBytes =
    (kResidentThreads / 32 * (2 * kResidentTotalSlots + 8) + 2 * kResidentTotalSlots) *
    sizeof(float);

// One barrier per row of kResidentThreads 16-byte vectors (8 KB): 28 rows fill the most
// shared memory a block may have (227 KB), so 32 cover every share the bulk copies feed.
inline constexpr int kResidentLandedRows = 32;
inline constexpr std::size_t kResidentLandedBytes =
    kResidentLandedRows * sizeof(unsigned long long);
// Rows of a share of `vectors` 16-byte vectors: kResidentThreads consecutive vectors (8 KB;
// the last may be shorter), one per thread, so that thread t's are t, t + 512, ... as on the
// load path.
inline constexpr int resident_rows(int vectors) {
  return (vectors + kResidentThreads - 1) / kResidentThreads;
}

inline constexpr std::size_t table_bytes(int channels) {
  return channels <= kTableChannels ? 2 * sizeof(float) * static_cast<std::size_t>(channels) : 0;
}

// Elements of a sample one of `blocks` blocks holds: all of them, or a 1 / blocks share
// rounded up to a multiple of 8 (so that a share of whole 16-byte vectors, V = 4 or 8, or of
// single elements always fits).
inline constexpr std::size_t resident_block_elements(int height, int width, int channels,
                                                     int blocks) {
  const std::size_t elements = static_cast<std::size_t>(height) * static_cast<std::size_t>(width) *
                               static_cast<std::size_t>(channels);
  if (blocks == 1) return elements;
  const std::size_t share =
      (elements + static_cast<std::size_t>(blocks) - 1) / static_cast<std::size_t>(blocks);
  return (share + 7) / 8 * 8;
}

inline constexpr std::size_t resident_shared_bytes(int height, int width, int channels,
                                                   std::size_t element_bytes, int blocks) {
  return kResidentScratchBytes + kResidentLandedBytes + table_bytes(channels) +
         resident_block_elements(height, width, channels, blocks) * element_bytes;
}

}  // namespace sombrero::kernels::u1_layout
