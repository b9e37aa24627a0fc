// The hand-written implicit-GEMM convolution kernels (conv2d_forward.cu,
// conv2d_backward_data.cu, conv2d_backward_filter.cu; shared machinery in conv2d_igemm.cuh).
// Two executions of the same sources:
//   cuda::  built by nvcc; device pointers; stream-ordered, never synchronises.
//   simt::  the same .cu run on the CPU by runtime/simt (tests); host pointers.
// Layouts as everywhere in sombrero: x, dx NHWC [N,H,W,C]; w, dw KRSC [K,R,S,C]; y, dy NHWC
// [N,OH,OW,K]. The shape is checked (throws sombrero::Error) before anything is launched.
//
// Precisions:
//   f32:  x, w, y, dy, dx, dw all f32; f32 FFMA accumulation (CUDA cores).
//   bf16: x, w, y, dy, dx bf16; dw is f32 (gradients of the f32 master weights, and a
//         reduction over N*OH*OW terms that bf16 would round away). Products are exact and
//         accumulated in f32 on tensor cores (mma.sync m16n8k16); outputs rounded once.
//
// Workspace: only backward-filter needs one, when it splits the GEMM's reduction dimension
// (N*OH*OW) across blocks: conv2d_backward_filter_workspace_bytes(shape, options) bytes of
// device memory (0 means none: pass nullptr). The split partial tiles are summed by a
// second kernel in a fixed order, so results are deterministic and do not depend on the
// device: every choice below is a function of the shape and the options only.
//
// Options (defaults are what a caller wants; tests force the others to cover every path):
//   tile     automatic | small (64x64 output tiles) | large (128x128) | warpgroup (128x128
//            on wgmma where it can, else large)
//   split_k  backward-filter only: 0 = heuristic, n >= 1 = at most n splits (1 = none).
// The workspace size must be computed with the same options as the call.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/conv/conv2d_shape.h"
#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

// warpgroup: 128x128 tiles on Hopper's wgmma (runtime/warpgroup_mma.h) for bf16 with
// vectorized operands, all three passes (needs an sm_90a build on a compute 9.0 device, or
// the SIMT build); f32 and unvectorizable shapes run the large tile. Not chosen
// automatically until it has been measured on a GPU (docs/conv.md).
enum class Conv2dTile { automatic, small, large, warpgroup };

// The warpgroup tile's shape and pipeline (conv2d_igemm.cuh): 128x128 with each K step's
// wgmmas waited for (3 stages, two blocks per SM), 128x128 with one step in flight (4
// stages), 256x128 so (4 stages of 48 KB), 128x64 synchronous (4 stages of 24 KB) and 64x128
// synchronous (one warpgroup, 3 stages of 24 KB); all sum in the same order (bit-identical
// results). 256 rows need gemm_m >= 256 (else m128_async runs); 64 rows are for
// backward-filter only (a forward's epilogue statistics come in 128-row tiles; elsewhere
// m128_sync runs). automatic, from `bench conv` on an H200
// (benchmarks/results/2026-11-26-h200-tiles.md): 256x128 for backward-filter with >= 256
// output channels (its gemm_m; 10-35% faster there: the B tile serves twice the rows), else
// 128x128 synchronous (the one-block-per-SM tiles were 10-40% slower on every forward and
// backward-data shape of ResNet-50); and where one side of the GEMM is 64 or less (ResNet's
// 64-channel layers), the tile that does not multiply a 64-wide half of zeros: 128x64 for
// forward and backward-data with gemm_n <= 64, 64x128 for backward-filter with gemm_m <= 64
// (chosen from the arithmetic, not yet timed on a GPU: a 128x128 tile there runs at the same
// rate per tile as on the 128-channel layers, so half its work is waste).
enum class Conv2dWgmmaTile { automatic, m128_sync, m128_async, m256_async, n64_sync, m64_sync };

struct Conv2dKernelOptions {
  Conv2dTile tile = Conv2dTile::automatic;
  int split_k = 0;
  Conv2dWgmmaTile wgmma = Conv2dWgmmaTile::automatic;  // with tile warpgroup
};

enum class Conv2dPass { forward, backward_data, backward_filter };

// How a pass is cut into blocks; a function of (pass, shape, options) only.
struct Conv2dGemmPlan {
  long long gemm_m = 0, gemm_n = 0, gemm_k = 0;  // the implicit GEMM's sizes
  bool large_tile = false;                       // 128x128 block tiles, else 64x64
  int splits = 1;                                // backward-filter: blocks along gemm_k
  long long split_chunk = 0;  // gemm_k elements per split (multiple of 32; wgmma: of 64)
  bool warpgroup = false;     // the wgmma tile where it applies
  Conv2dWgmmaTile wgmma_tile = Conv2dWgmmaTile::m128_sync;  // which one (never automatic)
};

inline constexpr int kConv2dLargeTile = 128;
inline constexpr int kConv2dSmallTile = 64;
// Blocks that fill an H100 once (132 SMs); used by the heuristics only, never queried, so
// the plan (and with it the summation order) is the same on every machine.
inline constexpr long long kConv2dWaveBlocks = 132;
inline constexpr long long kConv2dSplitGranule = 32;       // a multiple of the mma tiles' BK
inline constexpr long long kConv2dWgmmaSplitGranule = 64;  // the wgmma tile's BK

inline Conv2dGemmPlan conv2d_gemm_plan(Conv2dPass pass, const Conv2dShape& s,
                                       const Conv2dKernelOptions& options = {}) {
  Conv2dGemmPlan plan;
  const long long pixels_out = static_cast<long long>(s.batch) * s.out_height() * s.out_width();
  const long long taps = static_cast<long long>(s.kernel_h) * s.kernel_w;
  switch (pass) {
    case Conv2dPass::forward:
      plan = {pixels_out, s.out_channels, taps * s.in_channels, false, 1, 0};
      break;
    case Conv2dPass::backward_data:  // over all input pixels (per stride phase in the kernel)
      plan = {static_cast<long long>(s.batch) * s.in_height * s.in_width,
              s.in_channels,
              taps * s.out_channels,
              false,
              1,
              0};
      break;
    case Conv2dPass::backward_filter:
      plan = {s.out_channels, taps * s.in_channels, pixels_out, false, 1, 0};
      break;
  }
  auto tiles = [&](long long tile) {
    return ((plan.gemm_m + tile - 1) / tile) * ((plan.gemm_n + tile - 1) / tile);
  };
  // The wgmma tiles count as large (128-row statistics tiles) and take 64 k per step.
  Conv2dTile tile = options.tile;
  if (tile == Conv2dTile::warpgroup) {
    plan.warpgroup = true;
    tile = Conv2dTile::large;
    plan.wgmma_tile = options.wgmma;
    const bool filter = pass == Conv2dPass::backward_filter;
    if (plan.wgmma_tile == Conv2dWgmmaTile::automatic) {
      if (filter && plan.gemm_m >= 256)
        plan.wgmma_tile = Conv2dWgmmaTile::m256_async;
      else if (filter && plan.gemm_m <= 64)
        plan.wgmma_tile = Conv2dWgmmaTile::m64_sync;
      else if (!filter && plan.gemm_n <= 64)
        plan.wgmma_tile = Conv2dWgmmaTile::n64_sync;
      else
        plan.wgmma_tile = Conv2dWgmmaTile::m128_sync;
    }
    if (plan.wgmma_tile == Conv2dWgmmaTile::m256_async && plan.gemm_m < 256)
      plan.wgmma_tile = Conv2dWgmmaTile::m128_async;
    if (plan.wgmma_tile == Conv2dWgmmaTile::m64_sync && !filter)
      plan.wgmma_tile = Conv2dWgmmaTile::m128_sync;
  }
  if (tile == Conv2dTile::automatic) {
    // Large tiles when they still give a full wave (backward-filter: split-K adds blocks).
    const long long wave = pass == Conv2dPass::backward_filter ? 16 : kConv2dWaveBlocks;
    plan.large_tile = tiles(kConv2dLargeTile) >= wave;
  } else {
    plan.large_tile = tile == Conv2dTile::large;
  }
  if (pass == Conv2dPass::backward_filter) {
    // Blocks before splitting (the square tiles' count; 256 rows halve it, and a 64-row or
    // 64-column tile doubles it unless its short side covers the GEMM's already).
    long long blocks = tiles(plan.large_tile ? kConv2dLargeTile : kConv2dSmallTile);
    if (plan.warpgroup && plan.wgmma_tile == Conv2dWgmmaTile::m256_async) blocks /= 2;
    if (plan.warpgroup && plan.wgmma_tile == Conv2dWgmmaTile::m64_sync && plan.gemm_m > 64)
      blocks *= 2;
    if (plan.warpgroup && plan.wgmma_tile == Conv2dWgmmaTile::n64_sync && plan.gemm_n > 64)
      blocks *= 2;
    long long splits = options.split_k > 0
                           ? options.split_k
                           : std::min((2 * kConv2dWaveBlocks + blocks - 1) / blocks,
                                      (plan.gemm_k + 511) / 512);  // >= 512 terms per split
    splits = std::max<long long>(splits, 1);
    long long chunk = (plan.gemm_k + splits - 1) / splits;
    const long long granule = plan.warpgroup ? kConv2dWgmmaSplitGranule : kConv2dSplitGranule;
    chunk = (chunk + granule - 1) / granule * granule;
    plan.split_chunk = chunk;
    plan.splits = static_cast<int>((plan.gemm_k + chunk - 1) / chunk);  // none empty
  }
  return plan;
}

// Bytes of device workspace conv2d_backward_filter needs (0: pass nullptr).
inline std::size_t conv2d_backward_filter_workspace_bytes(const Conv2dShape& s,
                                                          const Conv2dKernelOptions& options = {}) {
  const Conv2dGemmPlan plan = conv2d_gemm_plan(Conv2dPass::backward_filter, s, options);
  if (plan.splits <= 1) return 0;
  return static_cast<std::size_t>(plan.splits) * static_cast<std::size_t>(plan.gemm_m) *
         static_cast<std::size_t>(plan.gemm_n) * sizeof(float);
}

// BatchNorm statistics from the forward's epilogue (conv2d_forward_with_statistics): for each
// row tile t of conv2d_statistics_tile_rows output pixels (the last may be shorter),
//   statistics[(2 t) K + k]     = sum of y[., k] over the tile's pixels, y as stored (bf16);
//   statistics[(2 t + 1) K + k] = sum of (y[., k] - that tile's mean)^2,
// which a following BatchNorm combines (Chan et al.) instead of reading y twice. Fused only
// where the epilogue stages the tile: bf16, K a multiple of 8, y 16-byte aligned.
inline bool conv2d_statistics_fusable(const Conv2dShape& s, bool bf16, const void* y) {
  return bf16 && s.out_channels % 8 == 0 && reinterpret_cast<std::uintptr_t>(y) % 16 == 0;
}
inline int conv2d_statistics_tile_rows(const Conv2dShape& s, const Conv2dKernelOptions& o = {}) {
  return conv2d_gemm_plan(Conv2dPass::forward, s, o).large_tile ? kConv2dLargeTile
                                                                : kConv2dSmallTile;
}
inline std::int64_t conv2d_statistics_floats(const Conv2dShape& s,
                                             const Conv2dKernelOptions& o = {}) {
  const std::int64_t pixels = std::int64_t(s.batch) * s.out_height() * s.out_width();
  const int rows = conv2d_statistics_tile_rows(s, o);
  return 2 * ((pixels + rows - 1) / rows) * s.out_channels;
}

// BatchNorm backward sums from backward-data's epilogue (conv2d_backward_data_with_batch_norm):
// where this convolution's input is relu_output = max(bn(bn_input), 0) (a BatchNorm with its
// ReLU, or without: relu_output null), the epilogue writes dx = g, the gradient of the
// BatchNorm's output before the ReLU (dx where relu_output > 0, else 0), and for each
// statistics tile t of conv2d_gradient_partials_tile_rows rows of dx (tiles numbered over the
// stride phases in order, (ph, pw) row-major, each phase's rows from its first tile),
//   partials[(2 t) C + c]     = sum of g[., c] over the tile's pixels, g as stored (bf16);
//   partials[(2 t + 1) C + c] = sum of g[., c] (bn_input[., c] - bn_mean[c]),
// which the BatchNorm's backward adds up (batch_norm_backward_training_from_partials) instead
// of reading g, bn_input and relu_output in a pass of its own. Fused only where the epilogue
// stages the tile: bf16, C a multiple of 8, dx, relu_output and bn_input 16-byte aligned.
// relu_affine (nullptr: none): the BatchNorm's forward coefficients [scale | shift] (C floats
// each; batch_norm_forward_training's `affine`) with which relu_output was computed from
// bn_input (without a residual): the epilogue then recomputes the ReLU's output from the
// bn_input it reads anyway, rounded as stored, and does not read relu_output (which may be
// null): the same mask, one tensor fewer read.
inline bool conv2d_gradient_partials_fusable(const Conv2dShape& s, bool bf16, const void* dx,
                                             const void* relu_output, const void* bn_input) {
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  return bf16 && s.in_channels % 8 == 0 && aligned(dx) && aligned(relu_output) &&
         aligned(bn_input) && bn_input != nullptr;
}
inline int conv2d_gradient_partials_tile_rows(const Conv2dShape& s,
                                              const Conv2dKernelOptions& o = {}) {
  return conv2d_gemm_plan(Conv2dPass::backward_data, s, o).large_tile ? kConv2dLargeTile
                                                                      : kConv2dSmallTile;
}
// Pixels of stride phase (ph, pw) of dx: backward-data runs one GEMM per phase.
inline std::int64_t conv2d_phase_pixels(const Conv2dShape& s, int ph, int pw) {
  const auto rows = [](int phase, int size, int stride) {
    return phase < size ? (size - phase + stride - 1) / stride : 0;
  };
  return std::int64_t(s.batch) * rows(ph, s.in_height, s.stride_h) *
         rows(pw, s.in_width, s.stride_w);
}
inline std::int64_t conv2d_gradient_partials_tiles(const Conv2dShape& s,
                                                   const Conv2dKernelOptions& o = {}) {
  const int rows = conv2d_gradient_partials_tile_rows(s, o);
  std::int64_t tiles = 0;
  for (int ph = 0; ph < s.stride_h; ++ph)
    for (int pw = 0; pw < s.stride_w; ++pw)
      tiles += (conv2d_phase_pixels(s, ph, pw) + rows - 1) / rows;
  return tiles;
}

// The hand-written kernels, declared once for both executions: `cuda` on device pointers,
// stream-ordered; `simt`, the same functions executed on the CPU by runtime/simt (host
// pointers).
//   conv2d_forward:         y = conv(x, w).
//   conv2d_backward_data:   dx = conv_transpose(dy, w), the gradient of sum(y * dy) with
//                           respect to x. Overwrites dx, or with accumulate adds to it in
//                           the epilogue (a residual block's two input gradients; bf16:
//                           the f32 sum rounded once).
//   conv2d_backward_filter: dw = (accumulate ? dw : 0) + the gradient of sum(y * dy) with
//                           respect to w, summed over the batch. workspace:
//                           conv2d_backward_filter_workspace_bytes(shape, options) bytes.
#define SOMBRERO_CONV2D_KERNEL_API                                                                \
  void conv2d_forward(const Conv2dShape& shape, const float* x, const float* w, float* y,         \
                      cudaStream_t stream, const Conv2dKernelOptions& options = {});              \
  void conv2d_forward(const Conv2dShape& shape, const bf16* x, const bf16* w, bf16* y,            \
                      cudaStream_t stream, const Conv2dKernelOptions& options = {});              \
  /* y = conv(x, w) and the statistics above (conv2d_statistics_fusable must hold). */            \
  void conv2d_forward_with_statistics(const Conv2dShape& shape, const bf16* x, const bf16* w,     \
                                      bf16* y, float* statistics, cudaStream_t stream,            \
                                      const Conv2dKernelOptions& options = {});                   \
  void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* w, float* dx, \
                            cudaStream_t stream, const Conv2dKernelOptions& options = {},         \
                            bool accumulate = false);                                             \
  void conv2d_backward_data(const Conv2dShape& shape, const bf16* dy, const bf16* w, bf16* dx,    \
                            cudaStream_t stream, const Conv2dKernelOptions& options = {},         \
                            bool accumulate = false);                                             \
  /* dx = g and the BatchNorm's backward partials above (conv2d_gradient_partials_fusable). */    \
  void conv2d_backward_data_with_batch_norm(                                                      \
      const Conv2dShape& shape, const bf16* dy, const bf16* w, bf16* dx, const bf16* relu_output, \
      const bf16* bn_input, const float* bn_mean, float* partials, cudaStream_t stream,           \
      const Conv2dKernelOptions& options = {}, bool accumulate = false,                           \
      const float* relu_affine = nullptr);                                                        \
  void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,          \
                              float* dw, bool accumulate, void* workspace, cudaStream_t stream,   \
                              const Conv2dKernelOptions& options = {});                           \
  void conv2d_backward_filter(const Conv2dShape& shape, const bf16* x, const bf16* dy, float* dw, \
                              bool accumulate, void* workspace, cudaStream_t stream,              \
                              const Conv2dKernelOptions& options = {});
namespace cuda {
SOMBRERO_CONV2D_KERNEL_API
}  // namespace cuda
namespace simt {
SOMBRERO_CONV2D_KERNEL_API
}  // namespace simt
#undef SOMBRERO_CONV2D_KERNEL_API

}  // namespace sombrero::kernels
