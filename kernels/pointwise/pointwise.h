// Elementwise operations of the layers: ReLU, residual add, per-channel bias.
//   relu_forward        y = max(x, 0)
//   relu_backward       dx = dy where y > 0, else 0 (from the output y, as PyTorch's in-place
//                       ReLU; dx may alias dy)
//   add                 y = a + b                      (residual sum)
//   add_inplace         y += x                         (gradient of a tensor used twice)
//   bias_add            y[r, c] += bias[c]             over [rows, channels] (NHWC, [N, C])
//   bias_backward       dbias[c] += sum_r dy[r, c]
//   channel_pad_subsample_forward / _backward
//                       the option-A shortcut of CIFAR ResNets (He et al.): NHWC x [N, H, W, C]
//                       -> y [N, ceil(H/s), ceil(W/s), C + 2p] with
//                       y[n, oh, ow, p + c] = x[n, oh s, ow s, c] and zeros in the p channels on
//                       each side; backward routes dy back (dx = 0 at the skipped pixels).
//                       Both overwrite their output; pure copies (bit for bit on every backend).
// CPU backend: OpenMP loops; bias_backward sums in double over a fixed number of row chunks.
// CUDA / SIMT (pointwise.cu): f32 or bf16 tensors (bias f32), f32 math, one rounding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/channel_tiles.h"
#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

// The geometry of channel_pad_subsample_*: input [batch, in_height, in_width, in_channels],
// spatial stride `stride`, out_channels = the copied channels plus zero channels: `front`
// zero channels before the copied ones and the rest after; front = -1 (the option-A
// shortcut) centres them, out_channels = in_channels + 2 pad. constexpr: the kernels call
// them (--expt-relaxed-constexpr).
struct ChannelPadShape {
  int batch = 1, in_height = 1, in_width = 1, in_channels = 1, out_channels = 1, stride = 1;
  int front = -1;
  constexpr int out_height() const { return (in_height + stride - 1) / stride; }
  constexpr int out_width() const { return (in_width + stride - 1) / stride; }
  constexpr int pad() const { return front >= 0 ? front : (out_channels - in_channels) / 2; }
  constexpr std::int64_t input_elements() const {
    return std::int64_t(batch) * in_height * in_width * in_channels;
  }
  constexpr std::int64_t output_elements() const {
    return std::int64_t(batch) * out_height() * out_width() * out_channels;
  }
};

}  // namespace sombrero::kernels

namespace sombrero::kernels::cpu {

void relu_forward(std::int64_t n, const float* x, float* y);
void relu_backward(std::int64_t n, const float* y, const float* dy, float* dx);
void add(std::int64_t n, const float* a, const float* b, float* y);
void add_inplace(std::int64_t n, const float* x, float* y);
void bias_add(std::int64_t rows, int channels, const float* bias, float* y);
void bias_backward(std::int64_t rows, int channels, const float* dy, float* dbias);
void channel_pad_subsample_forward(const ChannelPadShape& shape, const float* x, float* y);
void channel_pad_subsample_backward(const ChannelPadShape& shape, const float* dy, float* dx);

}  // namespace sombrero::kernels::cpu

namespace sombrero::kernels {

// Floats of device workspace cuda::/simt::bias_backward need (per-row-block partial sums).
inline std::size_t bias_backward_workspace_floats(std::int64_t rows, int channels) {
  return std::size_t(channel_row_blocks(rows)) * std::size_t(channels);
}

// The hand-written kernels (pointwise.cu): `cuda` on device pointers, asynchronous on `stream`;
// `simt`, the same source executed on the CPU over host pointers (tests). Same contracts as
// the cpu:: functions (dx may alias dy; y may alias a or b).
#define SOMBRERO_POINTWISE_KERNEL_API(T)                                                           \
  void relu_forward(std::int64_t n, const T* x, T* y, cudaStream_t stream);                        \
  void relu_backward(std::int64_t n, const T* y, const T* dy, T* dx, cudaStream_t stream);         \
  void add(std::int64_t n, const T* a, const T* b, T* y, cudaStream_t stream);                     \
  void add_inplace(std::int64_t n, const T* x, T* y, cudaStream_t stream);                         \
  void bias_add(std::int64_t rows, int channels, const float* bias, T* y, cudaStream_t stream);    \
  void bias_backward(std::int64_t rows, int channels, const T* dy, float* dbias, float* workspace, \
                     cudaStream_t stream);                                                         \
  void channel_pad_subsample_forward(const ChannelPadShape& shape, const T* x, T* y,               \
                                     cudaStream_t stream);                                         \
  void channel_pad_subsample_backward(const ChannelPadShape& shape, const T* dy, T* dx,            \
                                      cudaStream_t stream);
namespace cuda {
SOMBRERO_POINTWISE_KERNEL_API(float)
SOMBRERO_POINTWISE_KERNEL_API(bf16)
}  // namespace cuda
namespace simt {
SOMBRERO_POINTWISE_KERNEL_API(float)
SOMBRERO_POINTWISE_KERNEL_API(bf16)
}  // namespace simt
#undef SOMBRERO_POINTWISE_KERNEL_API

}  // namespace sombrero::kernels
