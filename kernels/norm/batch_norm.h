// BatchNorm over NHWC activations viewed as [rows, channels] (rows = N * H * W), as PyTorch's
// BatchNorm2d defines it:
//   training   mean_c = 1/M sum_r x[r,c],  var_c = 1/M sum_r (x[r,c] - mean_c)^2  (biased)
//              y = (x - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c
//              running_mean = (1 - momentum) running_mean + momentum mean_c
//              running_var  = (1 - momentum) running_var  + momentum var_c M / (M - 1)
//   inference  y = (x - running_mean_c) / sqrt(running_var_c + eps) * gamma_c + beta_c
//   backward (training, with xhat = (x - mean) invstd, invstd = 1/sqrt(var + eps)):
//              dbeta_c  += sum_r dy,  dgamma_c += sum_r dy xhat
//              dx = gamma_c invstd / M (M dy - sum_r dy - xhat sum_r dy xhat)
// With relu = true the output is max(y, 0) (BatchNorm + ReLU fused, one pass less each way);
// backward then takes that output and uses dy only where it is > 0.
// CPU backend: per-channel sums in double over a fixed number of row chunks (OpenMP over
// chunks, chunk sums added in order), so results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/common/channel_tiles.h"
#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

struct BatchNormShape {
  std::int64_t rows = 0;  // N * H * W
  int channels = 0;
};

namespace cpu {

// Training-mode forward. Writes y, save_mean and save_invstd ([channels], what backward needs)
// and updates running_mean / running_var in place (skipped when they are null).
void batch_norm_forward_training(const BatchNormShape& shape, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* y,
                                 float* running_mean, float* running_var, float* save_mean,
                                 float* save_invstd, bool relu = false);

// Inference-mode forward with the running statistics.
void batch_norm_forward_inference(const BatchNormShape& shape, const float* x, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float eps, float* y, bool relu = false);

// Training-mode backward: overwrites dx, accumulates dgamma and dbeta. relu_output: the output
// of the ReLU after this BatchNorm (its fused one, or a residual block's after the sum), where
// dy then counts only where it is > 0; null for none. masked_gradient (with relu_output only;
// null for none): also writes g = dy masked so there, the gradient a residual block's
// shortcut takes, in the same pass (it may not alias x, dy or relu_output; dx may alias it).
void batch_norm_backward_training(const BatchNormShape& shape, const float* x, const float* dy,
                                  const float* gamma, const float* save_mean,
                                  const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                                  const float* relu_output = nullptr,
                                  float* masked_gradient = nullptr);

}  // namespace cpu

// The hand-written kernels (batch_norm.cu): `cuda` on device pointers, asynchronous on
// `stream`; `simt`, the same source executed on the CPU over host pointers (tests).
// Activations (x, y, dy, dx, relu_output) are f32 or bf16; statistics, parameters and their
// gradients are f32. Same contracts as the cpu:: functions above, plus a device workspace of
// batch_norm_workspace_floats(shape) floats for the training passes. dx may alias dy.
// residual (forward passes; nullptr: none): y = max?(x scale + shift + residual), a
// residual block's last BatchNorm, its sum and ReLU in one pass (residual like x; y may not
// alias it). affine (training forwards; nullptr: none): also keeps the coefficients
// [scale | shift] (2 channels floats, device memory) that y was computed with, so that
// conv2d_backward_data_with_batch_norm can recompute the ReLU's mask from x
// (numeric.cuh: batch_norm_affine, relu_value) instead of reading y.
// Layout: per-row-block partial sums [row_blocks][2][channels] (or, from a convolution's
// statistics, per-segment moments [2][segments][channels] in double), then 3 coefficient
// vectors.
inline constexpr int kBatchNormStatisticsSegments = 64;
inline std::size_t batch_norm_partials_floats(const BatchNormShape& shape) {
  const std::size_t per_channel = std::max<std::size_t>(
      2 * std::size_t(channel_row_blocks(shape.rows)), 4 * kBatchNormStatisticsSegments);
  return per_channel * std::size_t(shape.channels);
}
inline std::size_t batch_norm_workspace_floats(const BatchNormShape& shape) {
  return batch_norm_partials_floats(shape) + 3 * std::size_t(shape.channels);
}

#define SOMBRERO_BATCH_NORM_KERNEL_API(T)                                                         \
  void batch_norm_forward_training(                                                               \
      const BatchNormShape& shape, const T* x, const float* gamma, const float* beta, float eps,  \
      float momentum, T* y, float* running_mean, float* running_var, float* save_mean,            \
      float* save_invstd, float* workspace, cudaStream_t stream, bool relu = false,               \
      const T* residual = nullptr, float* affine = nullptr);                                      \
  void batch_norm_forward_inference(                                                              \
      const BatchNormShape& shape, const T* x, const float* gamma, const float* beta,             \
      const float* running_mean, const float* running_var, float eps, T* y, cudaStream_t stream,  \
      bool relu = false, const T* residual = nullptr);                                            \
  void batch_norm_backward_training(const BatchNormShape& shape, const T* x, const T* dy,         \
                                    const float* gamma, const float* save_mean,                   \
                                    const float* save_invstd, T* dx, float* dgamma, float* dbeta, \
                                    float* workspace, cudaStream_t stream,                        \
                                    const T* relu_output = nullptr, T* masked_gradient = nullptr);
// Training forward from statistics a convolution's epilogue already computed (x is its
// output): statistics[2 t][c] = sum and [2 t + 1][c] = centred sum of squares over row tile
// t of tile_rows rows (conv2d_forward_with_statistics). Combines them per channel (Chan et
// al., in double, tiles in order) instead of reading x twice, then normalises as above.
#define SOMBRERO_BATCH_NORM_FROM_STATISTICS_API(T)                                                 \
  void batch_norm_forward_training_from_statistics(                                                \
      const BatchNormShape& shape, const float* statistics, int tile_rows, const T* x,             \
      const float* gamma, const float* beta, float eps, float momentum, T* y, float* running_mean, \
      float* running_var, float* save_mean, float* save_invstd, float* workspace,                  \
      cudaStream_t stream, bool relu = false, const T* residual = nullptr,                         \
      float* affine = nullptr);
// Training backward from the sums a convolution's backward-data epilogue already computed
// (conv2d_backward_data_with_batch_norm; x is the BatchNorm's input, g the gradient of its
// output already masked by its ReLU, which that epilogue wrote): partials[2 t][c] = sum g and
// [2 t + 1][c] = sum g (x - save_mean_c) over tile t of `tiles`. Adds them per channel (in
// double, in order: segments of tiles, then the segments) instead of reading g and x for
// them, then dx as above (no mask: g has it). dx may alias g.
#define SOMBRERO_BATCH_NORM_FROM_PARTIALS_API(T)                                               \
  void batch_norm_backward_training_from_partials(                                             \
      const BatchNormShape& shape, const float* partials, std::int64_t tiles, const T* x,      \
      const T* g, const float* gamma, const float* save_mean, const float* save_invstd, T* dx, \
      float* dgamma, float* dbeta, float* workspace, cudaStream_t stream);
namespace cuda {
SOMBRERO_BATCH_NORM_KERNEL_API(float)
SOMBRERO_BATCH_NORM_KERNEL_API(bf16)
SOMBRERO_BATCH_NORM_FROM_STATISTICS_API(bf16)
SOMBRERO_BATCH_NORM_FROM_PARTIALS_API(bf16)
}  // namespace cuda
namespace simt {
SOMBRERO_BATCH_NORM_KERNEL_API(float)
SOMBRERO_BATCH_NORM_KERNEL_API(bf16)
SOMBRERO_BATCH_NORM_FROM_STATISTICS_API(bf16)
SOMBRERO_BATCH_NORM_FROM_PARTIALS_API(bf16)
}  // namespace simt
#undef SOMBRERO_BATCH_NORM_KERNEL_API
#undef SOMBRERO_BATCH_NORM_FROM_STATISTICS_API
#undef SOMBRERO_BATCH_NORM_FROM_PARTIALS_API

}  // namespace sombrero::kernels
