// Pooling over NHWC activations (math in pool.h): max pool with its argmax, average pool
// (count_include_pad), global average pool; forward and backward; f32 or bf16 activations.
//
// Parallelisation: one thread per output element (forward) or per input element (backward),
// 256 threads per block, grid-stride over at most 1024 blocks; the channel index is the
// fastest, so a warp reads and writes 32 consecutive channels (coalesced).
//   - max forward: a thread scans its window in (r, t) order and keeps the first maximum, as
//     the CPU backend (the argmax is the input pixel ih * W + iw, padding never chosen).
//   - max / avg backward are gathers, not scatters: the thread of input pixel (ih, iw) visits
//     the outputs whose windows contain it, in increasing (oh, ow) order, adding dy where the
//     argmax names it (max) or dy / (kh kw) (avg). Overlapping windows (stride < kernel) need
//     no atomics, the result is deterministic, and the addition order is the CPU's scatter
//     order, so the sums are the same bits.
//   - global average: forward, one thread per (image, channel) summing its pixels in order;
//     backward, one thread per element.
// Floors (e = bytes per element): max forward reads the input about (kh kw)/(sh sw) times
// through the cache (once from DRAM) and writes y (e) and argmax (4 B) per output; backward
// reads dy and argmax for each covering window and writes dx once. Global average reads x once.
// Memory bound.
// Precision: f32 accumulation of widened values in the CPU backend's order, products rounded
// alone (__fmul_rn, no FMA contraction), one rounding to the storage type: f32 results equal
// the CPU backend's bit for bit, bf16 results equal their rounding.
#include "kernels/common/elementwise.cuh"
#include "kernels/common/numeric.cuh"
#include "kernels/pool/pool.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {
namespace {

constexpr int kThreads = kElementwiseThreads;  // kernels/common/elementwise.cuh

// Output rows (or columns) whose window contains input row `in`: [first, last] (may be empty).
__device__ __forceinline__ void covering_outputs(int in, int pad, int kernel, int stride, int out,
                                                 int& first, int& last) {
  const int top = in + pad;  // the input row in padded coordinates
  first = top - kernel + 1 <= 0 ? 0 : (top - kernel + stride) / stride;
  last = top / stride;
  if (last > out - 1) last = out - 1;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    max_pool_forward_kernel(Pool2dShape s, int OH, int OW, const T* __restrict__ x,
                            T* __restrict__ y, std::int32_t* __restrict__ argmax) {
  const int C = s.channels;  // OH, OW: s.out_height(), s.out_width() (host functions)
  const std::int64_t n_out = std::int64_t(s.batch) * OH * OW * C;
  SOMBRERO_FOR_EACH_ELEMENT(i, n_out) {
    const int c = static_cast<int>(i % C);
    const std::int64_t pixel = i / C;
    const int ow = static_cast<int>(pixel % OW);
    const int oh = static_cast<int>(pixel / OW % OH);
    const std::int64_t n = pixel / (std::int64_t(OW) * OH);
    const T* xn = x + n * s.in_height * s.in_width * C + c;
    float best = 0.0f;
    std::int32_t best_pixel = -1;
    for (int r = 0; r < s.kernel_h; ++r) {
      const int ih = oh * s.stride_h - s.pad_h + r;
      if (ih < 0 || ih >= s.in_height) continue;
      for (int t = 0; t < s.kernel_w; ++t) {
        const int iw = ow * s.stride_w - s.pad_w + t;
        if (iw < 0 || iw >= s.in_width) continue;
        const std::int32_t p = ih * s.in_width + iw;
        const float v = to_float(xn[std::int64_t(p) * C]);
        if (v > best || best_pixel < 0) {  // first maximum wins, as PyTorch
          best = v;
          best_pixel = p;
        }
      }
    }
    y[i] = from_float<T>(best);
    argmax[i] = best_pixel;
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    max_pool_backward_kernel(Pool2dShape s, int OH, int OW, const T* __restrict__ dy,
                             const std::int32_t* __restrict__ argmax, T* __restrict__ dx) {
  const int C = s.channels;  // OH, OW: s.out_height(), s.out_width() (host functions)
  const std::int64_t n_in = std::int64_t(s.batch) * s.in_height * s.in_width * C;
  SOMBRERO_FOR_EACH_ELEMENT(i, n_in) {
    const int c = static_cast<int>(i % C);
    const std::int64_t pixel = i / C;
    const int iw = static_cast<int>(pixel % s.in_width);
    const int ih = static_cast<int>(pixel / s.in_width % s.in_height);
    const std::int64_t n = pixel / (std::int64_t(s.in_width) * s.in_height);
    const std::int32_t me = ih * s.in_width + iw;
    int oh0, oh1, ow0, ow1;
    covering_outputs(ih, s.pad_h, s.kernel_h, s.stride_h, OH, oh0, oh1);
    covering_outputs(iw, s.pad_w, s.kernel_w, s.stride_w, OW, ow0, ow1);
    float sum = 0.0f;
    for (int oh = oh0; oh <= oh1; ++oh)
      for (int ow = ow0; ow <= ow1; ++ow) {
        const std::int64_t o = ((n * OH + oh) * OW + ow) * C + c;
        if (argmax[o] == me) sum += to_float(dy[o]);
      }
    dx[i] = from_float<T>(sum);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    avg_pool_forward_kernel(Pool2dShape s, int OH, int OW, const T* __restrict__ x,
                            T* __restrict__ y) {
  const int C = s.channels;  // OH, OW: s.out_height(), s.out_width() (host functions)
  const float inv = 1.0f / float(s.kernel_h * s.kernel_w);
  const std::int64_t n_out = std::int64_t(s.batch) * OH * OW * C;
  SOMBRERO_FOR_EACH_ELEMENT(i, n_out) {
    const int c = static_cast<int>(i % C);
    const std::int64_t pixel = i / C;
    const int ow = static_cast<int>(pixel % OW);
    const int oh = static_cast<int>(pixel / OW % OH);
    const std::int64_t n = pixel / (std::int64_t(OW) * OH);
    const T* xn = x + n * s.in_height * s.in_width * C + c;
    float sum = 0.0f;
    for (int r = 0; r < s.kernel_h; ++r) {
      const int ih = oh * s.stride_h - s.pad_h + r;
      if (ih < 0 || ih >= s.in_height) continue;
      for (int t = 0; t < s.kernel_w; ++t) {
        const int iw = ow * s.stride_w - s.pad_w + t;
        if (iw < 0 || iw >= s.in_width) continue;
        sum += to_float(xn[(std::int64_t(ih) * s.in_width + iw) * C]);
      }
    }
    y[i] = from_float<T>(sum * inv);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    avg_pool_backward_kernel(Pool2dShape s, int OH, int OW, const T* __restrict__ dy,
                             T* __restrict__ dx) {
  const int C = s.channels;  // OH, OW: s.out_height(), s.out_width() (host functions)
  const float inv = 1.0f / float(s.kernel_h * s.kernel_w);
  const std::int64_t n_in = std::int64_t(s.batch) * s.in_height * s.in_width * C;
  SOMBRERO_FOR_EACH_ELEMENT(i, n_in) {
    const int c = static_cast<int>(i % C);
    const std::int64_t pixel = i / C;
    const int iw = static_cast<int>(pixel % s.in_width);
    const int ih = static_cast<int>(pixel / s.in_width % s.in_height);
    const std::int64_t n = pixel / (std::int64_t(s.in_width) * s.in_height);
    int oh0, oh1, ow0, ow1;
    covering_outputs(ih, s.pad_h, s.kernel_h, s.stride_h, OH, oh0, oh1);
    covering_outputs(iw, s.pad_w, s.kernel_w, s.stride_w, OW, ow0, ow1);
    float sum = 0.0f;
    for (int oh = oh0; oh <= oh1; ++oh)
      for (int ow = ow0; ow <= ow1; ++ow)
        sum = __fadd_rn(sum, __fmul_rn(to_float(dy[((n * OH + oh) * OW + ow) * C + c]), inv));
    dx[i] = from_float<T>(sum);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    global_avg_pool_forward_kernel(int batch, int pixels, int channels, const T* __restrict__ x,
                                   T* __restrict__ y) {
  SOMBRERO_FOR_EACH_ELEMENT(i, std::int64_t(batch) * channels) {
    const std::int64_t n = i / channels;
    const int c = static_cast<int>(i % channels);
    const T* xn = x + n * pixels * channels + c;
    float sum = 0.0f;
    for (int p = 0; p < pixels; ++p) sum += to_float(xn[std::int64_t(p) * channels]);
    y[i] = from_float<T>(sum / float(pixels));
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    global_avg_pool_backward_kernel(int batch, int pixels, int channels, const T* __restrict__ dy,
                                    T* __restrict__ dx) {
  SOMBRERO_FOR_EACH_ELEMENT(i, std::int64_t(batch) * pixels * channels) {
    const std::int64_t n = i / (std::int64_t(pixels) * channels);
    const int c = static_cast<int>(i % channels);
    dx[i] = from_float<T>(to_float(dy[n * channels + c]) / float(pixels));
  }
}

#undef SOMBRERO_FOR_EACH_ELEMENT

std::int64_t outputs(const Pool2dShape& s) {
  return std::int64_t(s.batch) * s.out_height() * s.out_width() * s.channels;
}
std::int64_t inputs(const Pool2dShape& s) {
  return std::int64_t(s.batch) * s.in_height * s.in_width * s.channels;
}

template <typename T>
void max_forward(const Pool2dShape& s, const T* x, T* y, std::int32_t* argmax,
                 cudaStream_t stream) {
  check_pool2d_shape(s);
  SOMBRERO_LAUNCH(max_pool_forward_kernel<T>, elementwise_grid(outputs(s)), dim3(kThreads), 0,
                  stream, s, s.out_height(), s.out_width(), x, y, argmax);
}
template <typename T>
void max_backward(const Pool2dShape& s, const T* dy, const std::int32_t* argmax, T* dx,
                  cudaStream_t stream) {
  check_pool2d_shape(s);
  SOMBRERO_LAUNCH(max_pool_backward_kernel<T>, elementwise_grid(inputs(s)), dim3(kThreads), 0,
                  stream, s, s.out_height(), s.out_width(), dy, argmax, dx);
}
template <typename T>
void avg_forward(const Pool2dShape& s, const T* x, T* y, cudaStream_t stream) {
  check_pool2d_shape(s);
  SOMBRERO_LAUNCH(avg_pool_forward_kernel<T>, elementwise_grid(outputs(s)), dim3(kThreads), 0,
                  stream, s, s.out_height(), s.out_width(), x, y);
}
template <typename T>
void avg_backward(const Pool2dShape& s, const T* dy, T* dx, cudaStream_t stream) {
  check_pool2d_shape(s);
  SOMBRERO_LAUNCH(avg_pool_backward_kernel<T>, elementwise_grid(inputs(s)), dim3(kThreads), 0,
                  stream, s, s.out_height(), s.out_width(), dy, dx);
}
template <typename T>
void global_forward(int batch, int pixels, int channels, const T* x, T* y, cudaStream_t stream) {
  SOMBRERO_CHECK(batch > 0 && pixels > 0 && channels > 0, "global_avg_pool: empty shape");
  SOMBRERO_LAUNCH(global_avg_pool_forward_kernel<T>,
                  elementwise_grid(std::int64_t(batch) * channels), dim3(kThreads), 0, stream,
                  batch, pixels, channels, x, y);
}
template <typename T>
void global_backward(int batch, int pixels, int channels, const T* dy, T* dx, cudaStream_t stream) {
  SOMBRERO_CHECK(batch > 0 && pixels > 0 && channels > 0, "global_avg_pool: empty shape");
  SOMBRERO_LAUNCH(global_avg_pool_backward_kernel<T>,
                  elementwise_grid(std::int64_t(batch) * pixels * channels), dim3(kThreads), 0,
                  stream, batch, pixels, channels, dy, dx);
}

}  // namespace

namespace SOMBRERO_EXEC {

void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax,
                        cudaStream_t stream) {
  max_forward(shape, x, y, argmax, stream);
}
void max_pool2d_forward(const Pool2dShape& shape, const bf16* x, bf16* y, std::int32_t* argmax,
                        cudaStream_t stream) {
  max_forward(shape, device_bf16(x), device_bf16(y), argmax, stream);
}
void max_pool2d_backward(const Pool2dShape& shape, const float* dy, const std::int32_t* argmax,
                         float* dx, cudaStream_t stream) {
  max_backward(shape, dy, argmax, dx, stream);
}
void max_pool2d_backward(const Pool2dShape& shape, const bf16* dy, const std::int32_t* argmax,
                         bf16* dx, cudaStream_t stream) {
  max_backward(shape, device_bf16(dy), argmax, device_bf16(dx), stream);
}
void avg_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, cudaStream_t stream) {
  avg_forward(shape, x, y, stream);
}
void avg_pool2d_forward(const Pool2dShape& shape, const bf16* x, bf16* y, cudaStream_t stream) {
  avg_forward(shape, device_bf16(x), device_bf16(y), stream);
}
void avg_pool2d_backward(const Pool2dShape& shape, const float* dy, float* dx,
                         cudaStream_t stream) {
  avg_backward(shape, dy, dx, stream);
}
void avg_pool2d_backward(const Pool2dShape& shape, const bf16* dy, bf16* dx, cudaStream_t stream) {
  avg_backward(shape, device_bf16(dy), device_bf16(dx), stream);
}
void global_avg_pool_forward(int batch, int pixels, int channels, const float* x, float* y,
                             cudaStream_t stream) {
  global_forward(batch, pixels, channels, x, y, stream);
}
void global_avg_pool_forward(int batch, int pixels, int channels, const bf16* x, bf16* y,
                             cudaStream_t stream) {
  global_forward(batch, pixels, channels, device_bf16(x), device_bf16(y), stream);
}
void global_avg_pool_backward(int batch, int pixels, int channels, const float* dy, float* dx,
                              cudaStream_t stream) {
  global_backward(batch, pixels, channels, dy, dx, stream);
}
void global_avg_pool_backward(int batch, int pixels, int channels, const bf16* dy, bf16* dx,
                              cudaStream_t stream) {
  global_backward(batch, pixels, channels, device_bf16(dy), device_bf16(dx), stream);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::kernels
