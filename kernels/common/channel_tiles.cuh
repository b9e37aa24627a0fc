// The channel-tiled layout shared by the per-channel kernels of the layers (BatchNorm, bias
// gradient): an NHWC activation viewed as [rows, channels]. A block of 256 threads covers
// lanes_x channel vectors side by side and lanes_y rows at a time (ChannelTiling in
// channel_tiles.h); a thread owns V consecutive channels, V = 1 or one 16-byte vector (8 bf16,
// 4 f32), moved with one load or store per row. Grid: (ceil(vectors / lanes_x), row_blocks);
// block (bx, by) visits rows by * lanes_y + ty + k * row_blocks * lanes_y, k = 0, 1, ...
// With 16-byte vectors a warp moves 512 contiguous bytes per access; rows narrower than 32
// vectors (64 bf16 channels: 8 vectors) put 32 / lanes_x whole rows under one warp, so no lane
// idles; the scalar path (C = 3, odd C, misaligned views) uses lanes_x = min(C, 32) likewise.
//
// Per-channel sums are deterministic two-level reductions, no float atomics:
//   1. channel_partial_sums_kernel: each thread accumulates its rows in row order (f32, four
//      rows' loads in flight before their adds), the block adds its lanes_y row lanes in
//      order in double and writes partials[by][sum][c] (rounded to f32);
//   2. the caller's finalize kernel adds the row_blocks partials of a channel in order (in
//      double) with sum_channel_partials.
// The grid depends on the shape and the alignment only, so the result does too (and the GPU
// and the SIMT execution agree bit for bit: every product is an explicit fmaf or rounded alone).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/common/channel_tiles.h"
#include "kernels/common/vector16.cuh"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {

inline dim3 channel_tile_grid(std::int64_t rows, const ChannelTiling& t) {
  return dim3(static_cast<unsigned>((t.vectors + t.lanes_x - 1) / t.lanes_x),
              static_cast<unsigned>(channel_row_blocks(rows)));
}

// Grid of the elementwise passes over the same layout (each thread handles about 16 rows, up
// to 8192 row blocks; more blocks than the reductions, whose partials must stay few).
inline dim3 channel_elementwise_grid(std::int64_t rows, const ChannelTiling& t) {
  const std::int64_t per_block = std::int64_t(t.lanes_y) * 16;
  return dim3(
      static_cast<unsigned>((t.vectors + t.lanes_x - 1) / t.lanes_x),
      static_cast<unsigned>(std::clamp<std::int64_t>((rows + per_block - 1) / per_block, 1, 8192)));
}

inline dim3 channel_tile_block() {
  return dim3(kChannelBlockThreads);
}

// This thread's place in the tiling: its first channel and first row, and the row step.
struct ChannelThread {
  int tx, ty, c0;
  bool active;  // owns channels and a row lane
  std::int64_t first_row, row_step;

  __device__ __forceinline__ explicit ChannelThread(const ChannelTiling& t) {
    tx = static_cast<int>(threadIdx.x) % t.lanes_x;
    ty = static_cast<int>(threadIdx.x) / t.lanes_x;
    const int vector = static_cast<int>(blockIdx.x) * t.lanes_x + tx;
    active = ty < t.lanes_y && vector < t.vectors;
    c0 = vector * t.vector;
    first_row = std::int64_t(blockIdx.y) * t.lanes_y + ty;
    row_step = std::int64_t(gridDim.y) * t.lanes_y;
  }
};

// Phase 1. Term: a copyable struct with
//   static constexpr int kSums, kInputs;
//   struct Constants;                                  // per-channel values, in registers
//   __device__ Constants constants(int c0) const;      // of channels c0 .. c0 + V
//   __device__ void load(std::int64_t element, float (&in)[kInputs][V]) const;
//   __device__ void add(const Constants&, const float (&in)[kInputs][V],
//                       float (&sums)[kSums][V]) const;
// `element` is row * channels + c0; add accumulates explicitly (fmaf or plain adds).
// partials: [gridDim.y][kSums][channels].
template <int V, typename Term>
__global__ void __launch_bounds__(kChannelBlockThreads)
    channel_partial_sums_kernel(std::int64_t rows, int channels, ChannelTiling tiling, Term term,
                                float* __restrict__ partials) {
  constexpr int kSums = Term::kSums, kInputs = Term::kInputs, kInFlight = 4;
  __shared__ float lanes[kSums][kChannelBlockThreads][V];
  const ChannelThread me(tiling);
  float sums[kSums][V];
  for (int s = 0; s < kSums; ++s)
    for (int j = 0; j < V; ++j) sums[s][j] = 0.0f;
  if (me.active) {
    const typename Term::Constants constants = term.constants(me.c0);
    std::int64_t r = me.first_row;
    for (; r + (kInFlight - 1) * me.row_step < rows; r += kInFlight * me.row_step) {
      float in[kInFlight][kInputs][V];
#pragma unroll
      for (int u = 0; u < kInFlight; ++u)
        term.load((r + u * me.row_step) * channels + me.c0, in[u]);
#pragma unroll
      for (int u = 0; u < kInFlight; ++u) term.add(constants, in[u], sums);
    }
    for (; r < rows; r += me.row_step) {
      float in[kInputs][V];
      term.load(r * channels + me.c0, in);
      term.add(constants, in, sums);
    }
  }
  for (int s = 0; s < kSums; ++s)
    for (int j = 0; j < V; ++j) lanes[s][threadIdx.x][j] = sums[s][j];
  __syncthreads();
  // One (sum, channel) per thread at a time: the row lanes in order, in double.
  for (int item = static_cast<int>(threadIdx.x); item < kSums * tiling.lanes_x * V;
       item += kChannelBlockThreads) {
    const int j = item % V, tx = (item / V) % tiling.lanes_x, s = item / (V * tiling.lanes_x);
    const int c = (static_cast<int>(blockIdx.x) * tiling.lanes_x + tx) * V + j;
    if (c >= channels) continue;
    double total = 0.0;
    for (int ty = 0; ty < tiling.lanes_y; ++ty) total += lanes[s][ty * tiling.lanes_x + tx][j];
    partials[(std::int64_t(blockIdx.y) * kSums + s) * channels + c] = static_cast<float>(total);
  }
}

// Phase 2 helper: the `sum`-th sum of channel c over `row_blocks` partials, in order, in double.
// (Issuing the loads 8 at a time before their adds made BatchNorm's backward finalize 2.5x
// slower on an H200, 51 us against 20: the plain loop stays.)
__device__ __forceinline__ double sum_channel_partials(const float* __restrict__ partials,
                                                       int row_blocks, int sums, int sum,
                                                       int channels, int c) {
  double total = 0.0;
  for (int b = 0; b < row_blocks; ++b)
    total += static_cast<double>(partials[(std::int64_t(b) * sums + sum) * channels + c]);
  return total;
}

// Launches channel_partial_sums_kernel with the tiling's vector width (V = 1 or 16 / sizeof(T)).
template <typename T, template <typename, int> class Term, typename... TermArgs>
void launch_channel_partial_sums(std::int64_t rows, int channels, const ChannelTiling& tiling,
                                 float* partials, cudaStream_t stream, TermArgs... args) {
  constexpr int V = kVector16<T>;
  if (tiling.vector == V)
    SOMBRERO_LAUNCH((channel_partial_sums_kernel<V, Term<T, V>>), channel_tile_grid(rows, tiling),
                    channel_tile_block(), 0, stream, rows, channels, tiling, Term<T, V>{args...},
                    partials);
  else
    SOMBRERO_LAUNCH((channel_partial_sums_kernel<1, Term<T, 1>>), channel_tile_grid(rows, tiling),
                    channel_tile_block(), 0, stream, rows, channels, tiling, Term<T, 1>{args...},
                    partials);
}

}  // namespace sombrero::kernels
