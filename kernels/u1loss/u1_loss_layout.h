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

// The resident kernel's dynamic shared memory, in this order (each part a multiple of 16
// bytes when the rows are, so the activation starts 16-byte aligned for vector accesses):
//   scratch     per warp of the kResidentThreads / 32: 2 x kResidentTotalSlots floats (the
//               per-sample block reduction, double-buffered: alternate samples use
//               alternate halves) and 8 floats for the angle readout's reduction
//   table       cos then sin, N floats each (N <= kTableChannels, else absent)
//   activation  the sample's H x W x N elements, NHWC, as stored in global memory
inline constexpr int kResidentTotalSlots = 16;  // 9 used: 6 moments, sum of logits, softmax
inline constexpr std::size_t kResidentScratchBytes =
    kResidentThreads / 32 * (2 * kResidentTotalSlots + 8) * sizeof(float);

inline constexpr std::size_t table_bytes(int channels) {
  return channels <= kTableChannels ? 2 * sizeof(float) * static_cast<std::size_t>(channels) : 0;
}

inline constexpr std::size_t resident_shared_bytes(int height, int width, int channels,
                                                   std::size_t element_bytes) {
  return kResidentScratchBytes + table_bytes(channels) +
         static_cast<std::size_t>(height) * static_cast<std::size_t>(width) *
             static_cast<std::size_t>(channels) * element_bytes;
}

}  // namespace sombrero::kernels::u1_layout
