// Pooling over NHWC activations, as PyTorch's MaxPool2d / AvgPool2d (ceil_mode false,
// dilation 1) and global average pooling:
//   out = floor((in + 2 pad - kernel) / stride) + 1
//   max:  y[n,oh,ow,c] = max over the window (padding is -inf: never chosen); the argmax (the
//         window tap r kernel_w + t of the first maximum, window row r and column t counted
//         from the padded window's corner: input pixel (oh stride_h - pad_h + r,
//         ow stride_w - pad_w + t)) is saved for backward, which routes dy to that pixel:
//         dx[pixel] += dy. One byte per output (PoolArgmax), a quarter of an int32 pixel
//         index's traffic and memory; windows of up to kMaxPoolTaps taps.
//   avg:  y = sum over the window / (kernel_h kernel_w)  (count_include_pad, PyTorch's default);
//         dx += dy / (kernel_h kernel_w) over the window.
//   global average: y[n,c] = 1/(H W) sum_{h,w} x[n,h,w,c];  dx[n,h,w,c] = dy[n,c] / (H W).
// CPU backend: OpenMP over images (each image's pixels owned by one thread, so the scatter of
// backward has no races).
// CUDA / SIMT (pool.cu): f32 or bf16 activations; backward passes gather (no atomics).
#pragma once

#include <cstdint>

#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

struct Pool2dShape {
  int batch = 1, in_height = 1, in_width = 1, channels = 1;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int out_height() const { return (in_height + 2 * pad_h - kernel_h) / stride_h + 1; }
  int out_width() const { return (in_width + 2 * pad_w - kernel_w) / stride_w + 1; }
};

// The max pool's saved argmax per output element: a window tap, 0 .. kernel_h kernel_w - 1.
using PoolArgmax = std::uint8_t;
inline constexpr int kMaxPoolTaps = 256;

// Throws sombrero::Error for a shape PyTorch would refuse (padding above half the kernel, an
// empty output, non-positive sizes).
void check_pool2d_shape(const Pool2dShape& shape);
// check_pool2d_shape, and a window of at most kMaxPoolTaps taps (the argmax is one byte).
void check_max_pool2d_shape(const Pool2dShape& shape);

namespace cpu {

void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, PoolArgmax* argmax);
// Overwrites dx.
void max_pool2d_backward(const Pool2dShape& shape, const float* dy, const PoolArgmax* argmax,
                         float* dx);
void avg_pool2d_forward(const Pool2dShape& shape, const float* x, float* y);
// Overwrites dx.
void avg_pool2d_backward(const Pool2dShape& shape, const float* dy, float* dx);

void global_avg_pool_forward(int batch, int pixels, int channels, const float* x, float* y);
// Overwrites dx.
void global_avg_pool_backward(int batch, int pixels, int channels, const float* dy, float* dx);

}  // namespace cpu

// The hand-written kernels (pool.cu): `cuda` on device pointers, asynchronous on `stream`;
// `simt`, the same source executed on the CPU over host pointers (tests). Same contracts as
// the cpu:: functions (backward passes overwrite dx).
#define SOMBRERO_POOL_KERNEL_API(T)                                                                \
  void max_pool2d_forward(const Pool2dShape& shape, const T* x, T* y, PoolArgmax* argmax,          \
                          cudaStream_t stream);                                                    \
  void max_pool2d_backward(const Pool2dShape& shape, const T* dy, const PoolArgmax* argmax, T* dx, \
                           cudaStream_t stream);                                                   \
  void avg_pool2d_forward(const Pool2dShape& shape, const T* x, T* y, cudaStream_t stream);        \
  void avg_pool2d_backward(const Pool2dShape& shape, const T* dy, T* dx, cudaStream_t stream);     \
  void global_avg_pool_forward(int batch, int pixels, int channels, const T* x, T* y,              \
                               cudaStream_t stream);                                               \
  void global_avg_pool_backward(int batch, int pixels, int channels, const T* dy, T* dx,           \
                                cudaStream_t stream);
namespace cuda {
SOMBRERO_POOL_KERNEL_API(float)
SOMBRERO_POOL_KERNEL_API(bf16)
}  // namespace cuda
namespace simt {
SOMBRERO_POOL_KERNEL_API(float)
SOMBRERO_POOL_KERNEL_API(bf16)
}  // namespace simt
#undef SOMBRERO_POOL_KERNEL_API

}  // namespace sombrero::kernels
