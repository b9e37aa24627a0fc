// BatchNorm2d over NHWC activations viewed as [rows, channels] (rows = N H W); the math is in
// batch_norm.h. Activations f32 or bf16; statistics, parameters and gradients f32.
//
// Training forward, five launches (M = rows):
//   1. sum_c = sum_r x[r,c]                 channel_partial_sums_kernel (channel_tiles.cuh)
//   2. mean_c = sum_c / M (double), save_mean, running_mean
//   3. ss_c = sum_r (x[r,c] - mean_c)^2     the same partial-sum kernel, centred (two passes
//                                           rather than E[x^2] - mean^2: no cancellation)
//   4. var_c = ss_c / M, invstd, save_invstd, running_var (unbiased), and the affine
//      coefficients scale_c = gamma_c invstd_c, shift_c = beta_c - mean_c scale_c (double)
//   5. y = x scale_c + shift_c (+ residual), then max(y, 0) when relu
// Backward, three launches (g = dy, or dy where the forward output is > 0 with relu):
//   1. sum_r g and sum_r g (x - mean_c)     two sums per channel in one partial-sum pass
//   2. dbeta += sum g, dgamma += sum g xhat = invstd sum g (x - mean); the coefficients of
//      dx = a_c g + b_c xhat + d_c, a = gamma invstd, b = -a sum(g xhat) / M, d = -a sum(g) / M
//   3. dx (the mask recomputed from the forward output; dx may alias dy)
// From a convolution's sums (batch_norm_backward_training_from_partials: the convolution that
// takes this BatchNorm's output computed g, the masked gradient, and per-tile sums of g and
// g (x - mean) in its backward-data epilogue), pass 1 is replaced by adding those tiles up
// (backward_segments_kernel, segments of 128 tiles in double, then the finalize over the
// segments): 3 e M C here (pass 3 reads g and x, writes dx), plus the 2 e the epilogue reads
// (the ReLU's output and x), instead of 7 e with the ReLU.
// A residual block's last BatchNorm takes the block's output as the mask and also writes g
// itself (masked_gradient) in pass 1, for the shortcut; pass 3 then reads g, not dy and the
// mask. That replaces the block's separate ReLU backward (reads dy and y, writes g; then
// pass 1 read g again): one pass of the block's output size and a launch fewer.
// With a residual (a residual block's BatchNorm, sum and ReLU in one pass) step 5 and
// inference also read it: one more read, and the sum's write and re-read saved.
// Inference: one launch, y = x scale_c + shift_c from the running statistics, each thread
// computing its channel's coefficients in its prologue.
//
// Parallelisation: the channel-tiled layout of channel_tiles.cuh, blocks of 256 threads.
// When every row of the tensors involved splits into 16-byte vectors (C a multiple of 8 bf16
// or 4 f32, aligned pointers: every ResNet BatchNorm) a thread owns one vector of channels,
// loaded and stored whole, with its per-channel coefficients in registers; otherwise one
// channel. Up to 32 threads side by side along a row's vectors and 256 / that many rows at a
// time, so narrow rows (64 bf16 channels = 8 vectors) put 4 whole rows under a warp and no
// lane idles. Sums are two-level and deterministic: each thread sums its rows in order (four
// rows' loads in flight), the block its row lanes in order in double, and one thread per
// channel the <= 256 row-block partials in order, in double (backward: 8 lanes per channel
// an eighth each, then their 8 totals in order). No float atomics: the result
// depends on the shape and alignment only, and the GPU and SIMT executions agree bit for bit.
// Floors (bytes, e = sizeof activation): training forward reads x twice for the statistics
// and once for y and writes y: 4 e M C (16 B per element in f32); backward reads x, dy and,
// with relu, y twice, writes dx: 5 e M C (7 e with relu; 7 e too with the masked gradient:
// pass 1 reads dy, y, x and writes g, pass 3 reads g, x); inference 2 e M C. All passes are
// memory bound (a few flops per byte); the per-channel launches (2, 4) are tiny.
// Precision: f32 accumulation per thread (chains of about 16 terms before the grid saturates),
// double across row blocks and for every per-channel scalar, as the CPU backend. Elementwise
// results use __fmul_rn / __fadd_rn (no FMA contraction), written as the CPU backend's
// expressions, so with the same sums the SIMT execution equals the CPU backend bit for bit
// (small-integer inputs make the sums exact) and the GPU equals both. bf16 activations are
// widened exactly and the outputs rounded once (to nearest even).
#include <cstdint>

#include "kernels/common/channel_tiles.cuh"
#include "kernels/common/numeric.cuh"
#include "kernels/norm/batch_norm.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {
namespace {

constexpr int kFinalizeThreads = 256;
// The per-channel kernels that split a channel's reduction across lanes (the statistics
// segments and finalize, the backward finalize): blocks of 32 channels x 8 lanes.
constexpr int kLaneChannels = 32, kChannelLanes = 8;

// Grid of those kernels: ceil(channels / 32) blocks along x, `y` along y.
dim3 lane_grid(int channels, unsigned y = 1) {
  return dim3(static_cast<unsigned>((channels + kLaneChannels - 1) / kLaneChannels), y);
}

// Double products and sums rounded alone: nvcc would contract a * b + c into one FMA, the
// host compiler does not; these keep the GPU, SIMT and CPU per-channel scalars identical.
__device__ __forceinline__ double mul_rn(double a, double b) {
#if defined(__CUDACC__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
__device__ __forceinline__ double add_rn(double a, double b) {
#if defined(__CUDACC__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

// (1 - momentum) running + momentum batch, as the CPU backend.
__device__ __forceinline__ float running_update(float running, float momentum, double batch) {
  return static_cast<float>(add_rn(mul_rn(1.0 - momentum, running), mul_rn(momentum, batch)));
}

// beta - (mean gamma) invstd, as the CPU backend (mean_gamma: the product it forms, in double
// in training, in float from the running mean in inference).
__device__ __forceinline__ float affine_shift(float beta, double mean_gamma, double invstd) {
  return static_cast<float>(add_rn(beta, -mul_rn(mean_gamma, invstd)));
}

// sums[0] += x
template <typename T, int V>
struct SumTerm {
  static constexpr int kSums = 1, kInputs = 1;
  struct Constants {};
  const T* x;
  __device__ __forceinline__ Constants constants(int) const { return {}; }
  __device__ __forceinline__ void load(std::int64_t i, float (&in)[1][V]) const {
    load_readonly_as_f32<V>(x + i, in[0]);
  }
  __device__ __forceinline__ void add(const Constants&, const float (&in)[1][V],
                                      float (&sums)[1][V]) const {
    for (int j = 0; j < V; ++j) sums[0][j] += in[0][j];
  }
};

// sums[0] += (x - mean_c)^2
template <typename T, int V>
struct CentredSquareTerm {
  static constexpr int kSums = 1, kInputs = 1;
  struct Constants {
    float mean[V];
  };
  const T* x;
  const float* mean;
  __device__ __forceinline__ Constants constants(int c0) const {
    Constants k;
    for (int j = 0; j < V; ++j) k.mean[j] = mean[c0 + j];
    return k;
  }
  __device__ __forceinline__ void load(std::int64_t i, float (&in)[1][V]) const {
    load_readonly_as_f32<V>(x + i, in[0]);
  }
  __device__ __forceinline__ void add(const Constants& k, const float (&in)[1][V],
                                      float (&sums)[1][V]) const {
    for (int j = 0; j < V; ++j) {
      const float d = in[0][j] - k.mean[j];
      sums[0][j] = fmaf(d, d, sums[0][j]);
    }
  }
};

// The gradient reaching the normalisation: dy, or dy where the fused ReLU's output is > 0
// (on the bits, as the CPU backend: an f32 is > 0 exactly when its bits as int32 are > 0).
// g[j] = dy[j] masked by relu_output[j] (nullptr: no ReLU).
template <int V, typename T>
__device__ __forceinline__ void masked_gradient(const float (&dy)[V], const T* relu_output,
                                                std::int64_t i, float (&g)[V]) {
  if (relu_output == nullptr) {
    for (int j = 0; j < V; ++j) g[j] = dy[j];
    return;
  }
  float y[V];
  load_readonly_as_f32<V>(relu_output + i, y);
  for (int j = 0; j < V; ++j) g[j] = relu_backward_mask(y[j], dy[j]);
}

// sums[0] += g, sums[1] += g (x - mean_c); in[0] = g, in[1] = x. With masked_out, load also
// stores g there (each element by the one thread that loads it): the masked gradient a
// residual block's shortcut takes, written in this pass instead of a ReLU backward of its own.
template <typename T, int V>
struct GradientTerm {
  static constexpr int kSums = 2, kInputs = 2;
  struct Constants {
    float mean[V];
  };
  const T* x;
  const T* dy;
  const T* relu_output;
  const float* mean;
  T* masked_out;
  __device__ __forceinline__ Constants constants(int c0) const {
    Constants k;
    for (int j = 0; j < V; ++j) k.mean[j] = mean[c0 + j];
    return k;
  }
  __device__ __forceinline__ void load(std::int64_t i, float (&in)[2][V]) const {
    float d[V];
    load_readonly_as_f32<V>(dy + i, d);
    masked_gradient<V>(d, relu_output, i, in[0]);
    load_readonly_as_f32<V>(x + i, in[1]);
    if (masked_out != nullptr) store_from_f32<V>(masked_out + i, in[0]);  // exact: dy or 0
  }
  __device__ __forceinline__ void add(const Constants& k, const float (&in)[2][V],
                                      float (&sums)[2][V]) const {
    for (int j = 0; j < V; ++j) {
      sums[0][j] += in[0][j];
      sums[1][j] = fmaf(in[0][j], in[1][j] - k.mean[j], sums[1][j]);
    }
  }
};

__global__ void __launch_bounds__(kFinalizeThreads)
    mean_kernel(std::int64_t rows, int channels, int row_blocks, const float* __restrict__ partials,
                float momentum, float* __restrict__ save_mean, float* __restrict__ running_mean) {
  const int c = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (c >= channels) return;
  const double mean = sum_channel_partials(partials, row_blocks, 1, 0, channels, c) / double(rows);
  save_mean[c] = static_cast<float>(mean);
  if (running_mean != nullptr) running_mean[c] = running_update(running_mean[c], momentum, mean);
}

// partials: the sums of pass 1 (for the mean in double), then those of pass 3.
__global__ void __launch_bounds__(kFinalizeThreads)
    variance_kernel(std::int64_t rows, int channels, int row_blocks,
                    const float* __restrict__ partials, const float* __restrict__ gamma,
                    const float* __restrict__ beta, float eps, float momentum,
                    float* __restrict__ running_var, float* __restrict__ save_invstd,
                    float* __restrict__ scale, float* __restrict__ shift) {
  const int c = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (c >= channels) return;
  const double M = static_cast<double>(rows);
  const double mean = sum_channel_partials(partials, row_blocks, 1, 0, channels, c) / M;
  const double var = sum_channel_partials(partials + std::int64_t(row_blocks) * channels,
                                          row_blocks, 1, 0, channels, c) /
                     M;
  const double invstd = 1.0 / sqrt(var + eps);
  save_invstd[c] = static_cast<float>(invstd);
  scale[c] = static_cast<float>(gamma[c] * invstd);
  shift[c] = affine_shift(beta[c], mul_rn(mean, gamma[c]), invstd);
  if (running_var != nullptr) {
    const double unbiased = rows > 1 ? var * M / (M - 1.0) : var;
    running_var[c] = running_update(running_var[c], momentum, unbiased);
  }
}

// Per-channel moments of a run of rows: count, mean and centred sum of squares, in double.
struct Moments {
  double count, mean, squares;
};

// Chan, Golub and LeVeque's pairwise update (a's rows, then b's): exact in the mean, no
// cancellation. Every product and sum rounded alone (GPU, SIMT and CPU agree bit for bit).
__device__ __forceinline__ Moments merge(const Moments& a, const Moments& b) {
  if (b.count == 0.0) return a;
  const double total = add_rn(a.count, b.count), delta = add_rn(b.mean, -a.mean);
  const double mean = add_rn(a.mean, mul_rn(delta, b.count / total));
  const double cross = mul_rn(mul_rn(delta, delta), mul_rn(a.count, b.count) / total);
  return {total, mean, add_rn(add_rn(a.squares, b.squares), cross)};
}

// Rows [first_tile tile_rows, end_tile tile_rows) clipped to rows.
__device__ __forceinline__ double rows_of_tiles(std::int64_t rows, int tile_rows,
                                                std::int64_t first_tile, std::int64_t end_tile) {
  const std::int64_t first = first_tile * tile_rows;
  const std::int64_t end = std::min<std::int64_t>(rows, end_tile * tile_rows);
  return end > first ? static_cast<double>(end - first) : 0.0;
}

// Combining a convolution's per-tile statistics (sum, centred sum of squares over tile_rows
// rows each, the last tile possibly shorter) into per-channel moments, in two launches so that
// the dependent chain of updates stays short (a ResNet-50 stem has 25088 tiles of 128 rows;
// one thread per channel walking them in order took 1.8 ms):
//   1. statistics_segments_kernel: grid (channels / 32, segments), blocks of 32 channels x 8
//      row lanes. A segment is a contiguous run of tiles_per_segment tiles; lane y walks its
//      eighth of the run in order, then lane 0 merges the 8 lanes in order. Writes the segment's
//      mean and centred squares (its count follows from the tile range) as doubles.
//   2. statistics_finalize_kernel: 8 lanes per channel merge an eighth of the <= 64 segments
//      each, in order, then lane 0 the 8 lanes in order.
// The order of every merge depends on the shape only: deterministic, GPU = SIMT bit for bit.
constexpr int kStatisticsBatch = 8;  // loads issued together before their merges

// How a reduction over `tiles` tiles is cut into segments for the segment kernels: about 128
// tiles (16 per lane) each, at most kBatchNormStatisticsSegments of them.
struct TileSegments {
  std::int64_t count, tiles_per_segment;
};
TileSegments tile_segments(std::int64_t tiles) {
  const std::int64_t count =
      std::clamp<std::int64_t>((tiles + 127) / 128, 1, kBatchNormStatisticsSegments);
  return {count, (tiles + count - 1) / count};
}

// Lane `lane`'s tiles [first, end) of segment `segment` (tiles_per_segment tiles; the last
// segment may be shorter, a lane's share empty): an eighth of the segment each, in order.
struct TileRange {
  std::int64_t first, end;
};
__device__ __forceinline__ TileRange lane_tiles(std::int64_t tiles, std::int64_t tiles_per_segment,
                                                std::int64_t segment, unsigned lane) {
  const std::int64_t first = segment * tiles_per_segment;
  const std::int64_t end = std::min(tiles, first + tiles_per_segment);
  const std::int64_t per_lane = (tiles_per_segment + kChannelLanes - 1) / kChannelLanes;
  const std::int64_t lane_first = std::min(end, first + lane * per_lane);
  return {lane_first, std::min(end, lane_first + per_lane)};
}

__global__ void __launch_bounds__(kLaneChannels* kChannelLanes)
    statistics_segments_kernel(std::int64_t rows, int channels, int tile_rows, std::int64_t tiles,
                               std::int64_t tiles_per_segment, const float* __restrict__ statistics,
                               double* __restrict__ segment_mean,
                               double* __restrict__ segment_squares) {
  __shared__ Moments lanes[kChannelLanes][kLaneChannels];
  const int c = static_cast<int>(blockIdx.x) * kLaneChannels + static_cast<int>(threadIdx.x);
  const std::int64_t segment = blockIdx.y;
  const TileRange lane = lane_tiles(tiles, tiles_per_segment, segment, threadIdx.y);
  const std::int64_t lane_first = lane.first, lane_end = lane.end;
  Moments m{0.0, 0.0, 0.0};
  if (c < channels)
    for (std::int64_t t0 = lane_first; t0 < lane_end; t0 += kStatisticsBatch) {
      // The batch's loads go out before its merges (a chain of L2 latencies otherwise).
      float sums[kStatisticsBatch], squares[kStatisticsBatch];
#pragma unroll
      for (int i = 0; i < kStatisticsBatch; ++i) {
        const std::int64_t t = t0 + i < lane_end ? t0 + i : t0;
        sums[i] = statistics[(2 * t) * channels + c];
        squares[i] = statistics[(2 * t + 1) * channels + c];
      }
#pragma unroll
      for (int i = 0; i < kStatisticsBatch; ++i) {
        if (t0 + i >= lane_end) break;
        const double n = rows_of_tiles(rows, tile_rows, t0 + i, t0 + i + 1);
        m = merge(m, Moments{n, static_cast<double>(sums[i]) / n, static_cast<double>(squares[i])});
      }
    }
  lanes[threadIdx.y][threadIdx.x] = m;
  __syncthreads();
  if (threadIdx.y != 0 || c >= channels) return;
  for (int y = 1; y < kChannelLanes; ++y) m = merge(m, lanes[y][threadIdx.x]);
  segment_mean[segment * channels + c] = m.mean;
  segment_squares[segment * channels + c] = m.squares;
}

// The variance_kernel's outputs from the segments' moments. Blocks of 32 channels x 8 lanes
// (grid ceil(channels / 32)), as the segments kernel: lane y merges its eighth of the
// segments in order (loads issued together), then lane 0 merges the 8 lanes in order. A
// chain of 16 merges (each with two double divisions) instead of 64: one thread per channel
// merging all 64 took 10 us per launch on an H200.
__global__ void __launch_bounds__(kLaneChannels* kChannelLanes) statistics_finalize_kernel(
    std::int64_t rows, int channels, int tile_rows, std::int64_t tiles_per_segment, int segments,
    const double* __restrict__ segment_mean, const double* __restrict__ segment_squares,
    const float* __restrict__ gamma, const float* __restrict__ beta, float eps, float momentum,
    float* __restrict__ running_mean, float* __restrict__ running_var,
    float* __restrict__ save_mean, float* __restrict__ save_invstd, float* __restrict__ scale,
    float* __restrict__ shift) {
  __shared__ Moments lanes[kChannelLanes][kLaneChannels];
  const int c = static_cast<int>(blockIdx.x) * kLaneChannels + static_cast<int>(threadIdx.x);
  const int per_lane = (segments + kChannelLanes - 1) / kChannelLanes;
  const int first_segment = static_cast<int>(threadIdx.y) * per_lane;
  const int end_segment = min(segments, first_segment + per_lane);
  Moments m{0.0, 0.0, 0.0};
  if (c < channels)
    for (int s0 = first_segment; s0 < end_segment; s0 += kStatisticsBatch) {
      double means[kStatisticsBatch], squares[kStatisticsBatch];
#pragma unroll
      for (int j = 0; j < kStatisticsBatch; ++j) {
        const std::int64_t i = std::int64_t(s0 + j < end_segment ? s0 + j : s0) * channels + c;
        means[j] = segment_mean[i];
        squares[j] = segment_squares[i];
      }
#pragma unroll
      for (int j = 0; j < kStatisticsBatch; ++j) {
        if (s0 + j >= end_segment) break;
        const std::int64_t first = (s0 + j) * tiles_per_segment;
        const double n = rows_of_tiles(rows, tile_rows, first, first + tiles_per_segment);
        m = merge(m, Moments{n, means[j], squares[j]});
      }
    }
  lanes[threadIdx.y][threadIdx.x] = m;
  __syncthreads();
  if (threadIdx.y != 0 || c >= channels) return;
  for (int y = 1; y < kChannelLanes; ++y) m = merge(m, lanes[y][threadIdx.x]);
  const double M = static_cast<double>(rows);
  const double var = m.squares / M;
  const double invstd = 1.0 / sqrt(var + eps);
  save_mean[c] = static_cast<float>(m.mean);
  save_invstd[c] = static_cast<float>(invstd);
  scale[c] = static_cast<float>(gamma[c] * invstd);
  shift[c] = affine_shift(beta[c], mul_rn(m.mean, gamma[c]), invstd);
  if (running_mean != nullptr) running_mean[c] = running_update(running_mean[c], momentum, m.mean);
  if (running_var != nullptr) {
    const double unbiased = rows > 1 ? var * M / (M - 1.0) : var;
    running_var[c] = running_update(running_var[c], momentum, unbiased);
  }
}

// y = x scale + shift (+ residual) (then max(y, 0)), rounded as the CPU backend's
// `x * scale + shift`, then `+ residual` in f32: a residual block's BatchNorm, sum and ReLU
// in one pass (residual: nullptr for none).
template <typename T, int V>
__device__ __forceinline__ void apply_affine(std::int64_t rows, int channels,
                                             const ChannelThread& me, const float (&scale)[V],
                                             const float (&shift)[V], const T* __restrict__ x,
                                             const T* __restrict__ residual, T* __restrict__ y,
                                             bool relu) {
  for (std::int64_t r = me.first_row; r < rows; r += me.row_step) {
    const std::int64_t i = r * channels + me.c0;
    float v[V], add[V] = {};
    load_readonly_as_f32<V>(x + i, v);
    if (residual != nullptr) load_readonly_as_f32<V>(residual + i, add);
    for (int j = 0; j < V; ++j) {
      v[j] = batch_norm_affine(v[j], scale[j], shift[j]);
      if (residual != nullptr) v[j] = __fadd_rn(v[j], add[j]);
      if (relu) v[j] = relu_value(v[j]);
    }
    store_from_f32<V>(y + i, v);
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kChannelBlockThreads)
    affine_kernel(std::int64_t rows, int channels, ChannelTiling tiling, const T* __restrict__ x,
                  const float* __restrict__ scale, const float* __restrict__ shift,
                  const T* __restrict__ residual, T* __restrict__ y, bool relu) {
  const ChannelThread me(tiling);
  if (!me.active) return;
  float scale_c[V], shift_c[V];
  for (int j = 0; j < V; ++j) scale_c[j] = scale[me.c0 + j], shift_c[j] = shift[me.c0 + j];
  apply_affine<T, V>(rows, channels, me, scale_c, shift_c, x, residual, y, relu);
}

template <typename T, int V>
__global__ void __launch_bounds__(kChannelBlockThreads)
    inference_kernel(std::int64_t rows, int channels, ChannelTiling tiling, const T* __restrict__ x,
                     const float* __restrict__ gamma, const float* __restrict__ beta,
                     const float* __restrict__ running_mean, const float* __restrict__ running_var,
                     float eps, const T* __restrict__ residual, T* __restrict__ y, bool relu) {
  const ChannelThread me(tiling);
  if (!me.active) return;
  float scale[V], shift[V];
  for (int j = 0; j < V; ++j) {
    const int c = me.c0 + j;
    const double invstd = 1.0 / sqrt(static_cast<double>(running_var[c]) + eps);
    scale[j] = static_cast<float>(gamma[c] * invstd);
    shift[j] = affine_shift(beta[c], __fmul_rn(running_mean[c], gamma[c]), invstd);
  }
  apply_affine<T, V>(rows, channels, me, scale, shift, x, residual, y, relu);
}

// coefficients: [a | b | d], channels each. Blocks of 32 channels x 8 row lanes (grid
// ceil(channels / 32)): lane y adds its eighth of the <= 256 row-block partials of both sums
// in order (two independent chains, loads issued ahead), then lane 0 adds the 8 lane totals
// in order, all in double: deterministic, and a chain of 32 loads per thread instead of one
// thread walking all 512 in turn (L2 latency bound: 20 us per launch on an H200, 53 launches
// per ResNet-50 step).
// Partial: float (the backward's own pass 1) or double (segments of a convolution's
// epilogue partials, below).
template <typename Partial>
__global__ void __launch_bounds__(kLaneChannels* kChannelLanes)
    backward_finalize_kernel(std::int64_t rows, int channels, int row_blocks,
                             const Partial* __restrict__ partials, const float* __restrict__ gamma,
                             const float* __restrict__ save_invstd, float* __restrict__ dgamma,
                             float* __restrict__ dbeta, float* __restrict__ coefficients) {
  __shared__ double lane_totals[2][kChannelLanes][kLaneChannels];
  const int c = static_cast<int>(blockIdx.x) * kLaneChannels + static_cast<int>(threadIdx.x);
  const int per_lane = (row_blocks + kChannelLanes - 1) / kChannelLanes;
  const int first = static_cast<int>(threadIdx.y) * per_lane;
  const int end = min(row_blocks, first + per_lane);
  double lane_dy = 0.0, lane_dy_centred = 0.0;
  if (c < channels)
    for (int b = first; b < end; ++b) {
      lane_dy += static_cast<double>(partials[(std::int64_t(b) * 2) * channels + c]);
      lane_dy_centred += static_cast<double>(partials[(std::int64_t(b) * 2 + 1) * channels + c]);
    }
  lane_totals[0][threadIdx.y][threadIdx.x] = lane_dy;
  lane_totals[1][threadIdx.y][threadIdx.x] = lane_dy_centred;
  __syncthreads();
  if (threadIdx.y != 0 || c >= channels) return;
  double sum_dy = 0.0, sum_dy_centred = 0.0;
  for (int y = 0; y < kChannelLanes; ++y) {
    sum_dy += lane_totals[0][y][threadIdx.x];
    sum_dy_centred += lane_totals[1][y][threadIdx.x];
  }
  const double M = static_cast<double>(rows);
  const double sum_dy_xhat = save_invstd[c] * sum_dy_centred;
  const double k = gamma[c] * static_cast<double>(save_invstd[c]);
  coefficients[c] = static_cast<float>(k);
  coefficients[channels + c] = static_cast<float>(-k * sum_dy_xhat / M);
  coefficients[2 * channels + c] = static_cast<float>(-k * sum_dy / M);
  dgamma[c] += static_cast<float>(sum_dy_xhat);
  dbeta[c] += static_cast<float>(sum_dy);
}

// The backward sums of a convolution's epilogue (conv2d_backward_data_with_batch_norm: per
// tile, sum g and sum g (x - mean)) added up per segment of tiles_per_segment tiles, into the
// layout of pass 1's partials ([segments][2][channels], here in double). Blocks of 32
// channels x 8 lanes, one segment per blockIdx.y: lane y adds its eighth of the segment's
// tiles in order (loads issued 8 at a time), then lane 0 the 8 lane totals in order.
__global__ void __launch_bounds__(kLaneChannels* kChannelLanes)
    backward_segments_kernel(int channels, std::int64_t tiles, std::int64_t tiles_per_segment,
                             const float* __restrict__ partials, double* __restrict__ segments) {
  __shared__ double lanes[2][kChannelLanes][kLaneChannels];
  const int c = static_cast<int>(blockIdx.x) * kLaneChannels + static_cast<int>(threadIdx.x);
  const std::int64_t segment = blockIdx.y;
  const TileRange lane = lane_tiles(tiles, tiles_per_segment, segment, threadIdx.y);
  const std::int64_t lane_first = lane.first, lane_end = lane.end;
  double sum = 0.0, centred = 0.0;
  if (c < channels)
    for (std::int64_t t0 = lane_first; t0 < lane_end; t0 += kStatisticsBatch) {
      float sums[kStatisticsBatch], products[kStatisticsBatch];
#pragma unroll
      for (int i = 0; i < kStatisticsBatch; ++i) {
        const std::int64_t t = t0 + i < lane_end ? t0 + i : t0;
        sums[i] = partials[(2 * t) * channels + c];
        products[i] = partials[(2 * t + 1) * channels + c];
      }
#pragma unroll
      for (int i = 0; i < kStatisticsBatch; ++i) {
        if (t0 + i >= lane_end) break;
        sum = add_rn(sum, static_cast<double>(sums[i]));
        centred = add_rn(centred, static_cast<double>(products[i]));
      }
    }
  lanes[0][threadIdx.y][threadIdx.x] = sum;
  lanes[1][threadIdx.y][threadIdx.x] = centred;
  __syncthreads();
  if (threadIdx.y != 0 || c >= channels) return;
  for (int y = 1; y < kChannelLanes; ++y) {
    sum = add_rn(sum, lanes[0][y][threadIdx.x]);
    centred = add_rn(centred, lanes[1][y][threadIdx.x]);
  }
  segments[(2 * segment) * channels + c] = sum;
  segments[(2 * segment + 1) * channels + c] = centred;
}

// dx = a g + b xhat + d, xhat = (x - mean) invstd. dy and dx may alias (no __restrict__, and
// dy read with a coherent load): each element is read before the same thread writes it.
template <typename T, int V>
__global__ void __launch_bounds__(kChannelBlockThreads)
    backward_dx_kernel(std::int64_t rows, int channels, ChannelTiling tiling,
                       const T* __restrict__ x, const T* dy, const T* relu_output,
                       const float* __restrict__ save_mean, const float* __restrict__ save_invstd,
                       const float* __restrict__ coefficients, T* dx) {
  const ChannelThread me(tiling);
  if (!me.active) return;
  float mean[V], invstd[V], a[V], b[V], d[V];
  for (int j = 0; j < V; ++j) {
    const int c = me.c0 + j;
    mean[j] = save_mean[c], invstd[j] = save_invstd[c];
    a[j] = coefficients[c], b[j] = coefficients[channels + c],
    d[j] = coefficients[2 * channels + c];
  }
  for (std::int64_t r = me.first_row; r < rows; r += me.row_step) {
    const std::int64_t i = r * channels + me.c0;
    float dy_values[V], g[V], xv[V];
    load_as_f32<V>(dy + i, dy_values);
    masked_gradient<V>(dy_values, relu_output, i, g);
    load_readonly_as_f32<V>(x + i, xv);
    for (int j = 0; j < V; ++j) {
      const float xhat = __fmul_rn(xv[j] - mean[j], invstd[j]);
      g[j] = __fadd_rn(__fadd_rn(__fmul_rn(a[j], g[j]), __fmul_rn(b[j], xhat)), d[j]);
    }
    store_from_f32<V>(dx + i, g);
  }
}

dim3 finalize_grid(int channels) {
  return dim3(static_cast<unsigned>((channels + kFinalizeThreads - 1) / kFinalizeThreads));
}

void check(const BatchNormShape& s) {
  SOMBRERO_CHECK(s.rows > 0 && s.channels > 0, "batch_norm: empty shape rows=", s.rows,
                 " channels=", s.channels);
}

// 16-byte vectors per thread when every row of every tensor splits into them.
template <typename T>
ChannelTiling tiling_for(int channels, std::initializer_list<const void*> tensors) {
  return channel_tiling(channels, sizeof(T),
                        rows_split_into_16_byte_vectors(channels, sizeof(T), tensors));
}

// y = x scale + shift (+ residual) (+ ReLU) with the tiling's vector width.
template <typename T>
void launch_affine(const BatchNormShape& s, const ChannelTiling& tiling, const T* x,
                   const float* scale, const float* shift, const T* residual, T* y, bool relu,
                   cudaStream_t stream) {
  const dim3 grid = channel_elementwise_grid(s.rows, tiling);
  if (tiling.vector > 1)
    SOMBRERO_LAUNCH((affine_kernel<T, kVector16<T>>), grid, channel_tile_block(), 0, stream, s.rows,
                    s.channels, tiling, x, scale, shift, residual, y, relu);
  else
    SOMBRERO_LAUNCH((affine_kernel<T, 1>), grid, channel_tile_block(), 0, stream, s.rows,
                    s.channels, tiling, x, scale, shift, residual, y, relu);
}

template <typename T>
void forward_training(const BatchNormShape& s, const T* x, const float* gamma, const float* beta,
                      float eps, float momentum, T* y, float* running_mean, float* running_var,
                      float* save_mean, float* save_invstd, float* workspace, cudaStream_t stream,
                      bool relu, const T* residual, float* affine) {
  check(s);
  const int C = s.channels;
  const int row_blocks = channel_row_blocks(s.rows);
  const ChannelTiling tiling = tiling_for<T>(C, {x, y, residual});
  float* sums = workspace;
  float* centred = workspace + std::int64_t(row_blocks) * C;
  float* scale = affine != nullptr ? affine : workspace + batch_norm_partials_floats(s);
  float* shift = scale + C;
  launch_channel_partial_sums<T, SumTerm>(s.rows, C, tiling, sums, stream, x);
  SOMBRERO_LAUNCH(mean_kernel, finalize_grid(C), dim3(kFinalizeThreads), 0, stream, s.rows, C,
                  row_blocks, sums, momentum, save_mean, running_mean);
  launch_channel_partial_sums<T, CentredSquareTerm>(s.rows, C, tiling, centred, stream, x,
                                                    static_cast<const float*>(save_mean));
  SOMBRERO_LAUNCH(variance_kernel, finalize_grid(C), dim3(kFinalizeThreads), 0, stream, s.rows, C,
                  row_blocks, sums, gamma, beta, eps, momentum, running_var, save_invstd, scale,
                  shift);
  launch_affine(s, tiling, x, scale, shift, residual, y, relu, stream);
}

template <typename T>
void forward_training_from_statistics(const BatchNormShape& s, const float* statistics,
                                      int tile_rows, const T* x, const float* gamma,
                                      const float* beta, float eps, float momentum, T* y,
                                      float* running_mean, float* running_var, float* save_mean,
                                      float* save_invstd, float* workspace, cudaStream_t stream,
                                      bool relu, const T* residual, float* affine) {
  check(s);
  SOMBRERO_CHECK(tile_rows > 0, "batch_norm_forward_training_from_statistics: tile_rows ",
                 tile_rows);
  const int C = s.channels;
  const ChannelTiling tiling = tiling_for<T>(C, {x, y, residual});
  float* scale = affine != nullptr ? affine : workspace + batch_norm_partials_floats(s);
  float* shift = scale + C;
  const std::int64_t tiles = (s.rows + tile_rows - 1) / tile_rows;
  const TileSegments cut = tile_segments(tiles);
  const std::int64_t segments = cut.count, tiles_per_segment = cut.tiles_per_segment;
  double* segment_mean = reinterpret_cast<double*>(workspace);
  double* segment_squares = segment_mean + segments * C;
  SOMBRERO_LAUNCH(statistics_segments_kernel, lane_grid(C, static_cast<unsigned>(segments)),
                  dim3(kLaneChannels, kChannelLanes), 0, stream, s.rows, C, tile_rows, tiles,
                  tiles_per_segment, statistics, segment_mean, segment_squares);
  SOMBRERO_LAUNCH(statistics_finalize_kernel, lane_grid(C), dim3(kLaneChannels, kChannelLanes), 0,
                  stream, s.rows, C, tile_rows, tiles_per_segment, static_cast<int>(segments),
                  static_cast<const double*>(segment_mean),
                  static_cast<const double*>(segment_squares), gamma, beta, eps, momentum,
                  running_mean, running_var, save_mean, save_invstd, scale, shift);
  launch_affine(s, tiling, x, scale, shift, residual, y, relu, stream);
}

template <typename T>
void forward_inference(const BatchNormShape& s, const T* x, const float* gamma, const float* beta,
                       const float* running_mean, const float* running_var, float eps, T* y,
                       cudaStream_t stream, bool relu, const T* residual) {
  check(s);
  const ChannelTiling tiling = tiling_for<T>(s.channels, {x, y, residual});
  const dim3 grid = channel_elementwise_grid(s.rows, tiling);
  if (tiling.vector > 1)
    SOMBRERO_LAUNCH((inference_kernel<T, kVector16<T>>), grid, channel_tile_block(), 0, stream,
                    s.rows, s.channels, tiling, x, gamma, beta, running_mean, running_var, eps,
                    residual, y, relu);
  else
    SOMBRERO_LAUNCH((inference_kernel<T, 1>), grid, channel_tile_block(), 0, stream, s.rows,
                    s.channels, tiling, x, gamma, beta, running_mean, running_var, eps, residual, y,
                    relu);
}

template <typename T>
void launch_backward_dx(const BatchNormShape& s, const ChannelTiling& tiling, const T* x,
                        const T* dy, const T* relu_output, const float* save_mean,
                        const float* save_invstd, const float* coefficients, T* dx,
                        cudaStream_t stream) {
  const dim3 grid = channel_elementwise_grid(s.rows, tiling);
  if (tiling.vector > 1)
    SOMBRERO_LAUNCH((backward_dx_kernel<T, kVector16<T>>), grid, channel_tile_block(), 0, stream,
                    s.rows, s.channels, tiling, x, dy, relu_output, save_mean, save_invstd,
                    coefficients, dx);
  else
    SOMBRERO_LAUNCH((backward_dx_kernel<T, 1>), grid, channel_tile_block(), 0, stream, s.rows,
                    s.channels, tiling, x, dy, relu_output, save_mean, save_invstd, coefficients,
                    dx);
}

template <typename T>
void backward_training(const BatchNormShape& s, const T* x, const T* dy, const float* gamma,
                       const float* save_mean, const float* save_invstd, T* dx, float* dgamma,
                       float* dbeta, float* workspace, cudaStream_t stream, const T* relu_output,
                       T* masked_gradient) {
  check(s);
  SOMBRERO_CHECK(
      masked_gradient == nullptr || (relu_output != nullptr && masked_gradient != dy &&
                                     masked_gradient != x && masked_gradient != relu_output),
      "batch_norm_backward_training: a masked gradient needs the ReLU's output and a "
      "buffer of its own");
  const int C = s.channels;
  const int row_blocks = channel_row_blocks(s.rows);
  const ChannelTiling tiling = tiling_for<T>(C, {x, dy, dx, relu_output, masked_gradient});
  float* coefficients = workspace + batch_norm_partials_floats(s);
  launch_channel_partial_sums<T, GradientTerm>(s.rows, C, tiling, workspace, stream, x, dy,
                                               relu_output, save_mean, masked_gradient);
  // With the masked gradient written, the dx pass reads it instead of dy and the mask.
  if (masked_gradient != nullptr) {
    dy = masked_gradient;
    relu_output = nullptr;
  }
  SOMBRERO_LAUNCH(backward_finalize_kernel<float>, lane_grid(C), dim3(kLaneChannels, kChannelLanes),
                  0, stream, s.rows, C, row_blocks, static_cast<const float*>(workspace), gamma,
                  save_invstd, dgamma, dbeta, coefficients);
  launch_backward_dx(s, tiling, x, dy, relu_output, save_mean, save_invstd, coefficients, dx,
                     stream);
}

template <typename T>
void backward_training_from_partials(const BatchNormShape& s, const float* partials,
                                     std::int64_t tiles, const T* x, const T* g, const float* gamma,
                                     const float* save_mean, const float* save_invstd, T* dx,
                                     float* dgamma, float* dbeta, float* workspace,
                                     cudaStream_t stream) {
  check(s);
  SOMBRERO_CHECK(tiles > 0 && tiles <= s.rows,
                 "batch_norm_backward_training_from_partials: ", tiles, " tiles for ", s.rows,
                 " rows");
  const int C = s.channels;
  const ChannelTiling tiling = tiling_for<T>(C, {x, g, dx});
  float* coefficients = workspace + batch_norm_partials_floats(s);
  // The segments' 2 C doubles each fit the partials' part of the workspace.
  const TileSegments cut = tile_segments(tiles);
  const std::int64_t segments = cut.count, tiles_per_segment = cut.tiles_per_segment;
  double* segment_sums = reinterpret_cast<double*>(workspace);
  SOMBRERO_LAUNCH(backward_segments_kernel, lane_grid(C, static_cast<unsigned>(segments)),
                  dim3(kLaneChannels, kChannelLanes), 0, stream, C, tiles, tiles_per_segment,
                  partials, segment_sums);
  SOMBRERO_LAUNCH(backward_finalize_kernel<double>, lane_grid(C),
                  dim3(kLaneChannels, kChannelLanes), 0, stream, s.rows, C,
                  static_cast<int>(segments), static_cast<const double*>(segment_sums), gamma,
                  save_invstd, dgamma, dbeta, coefficients);
  launch_backward_dx(s, tiling, x, g, static_cast<const T*>(nullptr), save_mean, save_invstd,
                     coefficients, dx, stream);
}

}  // namespace

namespace SOMBRERO_EXEC {

void batch_norm_forward_training(const BatchNormShape& shape, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* y,
                                 float* running_mean, float* running_var, float* save_mean,
                                 float* save_invstd, float* workspace, cudaStream_t stream,
                                 bool relu, const float* residual, float* affine) {
  forward_training(shape, x, gamma, beta, eps, momentum, y, running_mean, running_var, save_mean,
                   save_invstd, workspace, stream, relu, residual, affine);
}
void batch_norm_forward_training(const BatchNormShape& shape, const bf16* x, const float* gamma,
                                 const float* beta, float eps, float momentum, bf16* y,
                                 float* running_mean, float* running_var, float* save_mean,
                                 float* save_invstd, float* workspace, cudaStream_t stream,
                                 bool relu, const bf16* residual, float* affine) {
  forward_training(shape, device_bf16(x), gamma, beta, eps, momentum, device_bf16(y), running_mean,
                   running_var, save_mean, save_invstd, workspace, stream, relu,
                   device_bf16(residual), affine);
}

void batch_norm_forward_training_from_statistics(
    const BatchNormShape& shape, const float* statistics, int tile_rows, const bf16* x,
    const float* gamma, const float* beta, float eps, float momentum, bf16* y, float* running_mean,
    float* running_var, float* save_mean, float* save_invstd, float* workspace, cudaStream_t stream,
    bool relu, const bf16* residual, float* affine) {
  forward_training_from_statistics(shape, statistics, tile_rows, device_bf16(x), gamma, beta, eps,
                                   momentum, device_bf16(y), running_mean, running_var, save_mean,
                                   save_invstd, workspace, stream, relu, device_bf16(residual),
                                   affine);
}

void batch_norm_forward_inference(const BatchNormShape& shape, const float* x, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float eps, float* y,
                                  cudaStream_t stream, bool relu, const float* residual) {
  forward_inference(shape, x, gamma, beta, running_mean, running_var, eps, y, stream, relu,
                    residual);
}
void batch_norm_forward_inference(const BatchNormShape& shape, const bf16* x, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float eps, bf16* y, cudaStream_t stream,
                                  bool relu, const bf16* residual) {
  forward_inference(shape, device_bf16(x), gamma, beta, running_mean, running_var, eps,
                    device_bf16(y), stream, relu, device_bf16(residual));
}

void batch_norm_backward_training(const BatchNormShape& shape, const float* x, const float* dy,
                                  const float* gamma, const float* save_mean,
                                  const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                                  float* workspace, cudaStream_t stream, const float* relu_output,
                                  float* masked_gradient) {
  backward_training(shape, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, workspace,
                    stream, relu_output, masked_gradient);
}
void batch_norm_backward_training(const BatchNormShape& shape, const bf16* x, const bf16* dy,
                                  const float* gamma, const float* save_mean,
                                  const float* save_invstd, bf16* dx, float* dgamma, float* dbeta,
                                  float* workspace, cudaStream_t stream, const bf16* relu_output,
                                  bf16* masked_gradient) {
  const __nv_bfloat16* relu = relu_output != nullptr ? device_bf16(relu_output) : nullptr;
  backward_training(shape, device_bf16(x), device_bf16(dy), gamma, save_mean, save_invstd,
                    device_bf16(dx), dgamma, dbeta, workspace, stream, relu,
                    device_bf16(masked_gradient));
}

void batch_norm_backward_training_from_partials(const BatchNormShape& shape, const float* partials,
                                                std::int64_t tiles, const bf16* x, const bf16* g,
                                                const float* gamma, const float* save_mean,
                                                const float* save_invstd, bf16* dx, float* dgamma,
                                                float* dbeta, float* workspace,
                                                cudaStream_t stream) {
  backward_training_from_partials(shape, partials, tiles, device_bf16(x), device_bf16(g), gamma,
                                  save_mean, save_invstd, device_bf16(dx), dgamma, dbeta, workspace,
                                  stream);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::kernels
