// Pooling over NHWC activations (math in pool.h): max pool with its argmax, average pool
// (count_include_pad), global average pool; forward and backward; f32 or bf16 activations.
//
// Parallelisation: one thread per output work item (forward) or per input work item
// (backward), 256 threads per block, grid-stride over at most 1024 blocks; the channel index
// is the fastest, so a warp reads and writes consecutive channels (coalesced). Two paths,
// chosen on the host once per launch, each its own template instantiation <T, V>: a work item
// is one 16-byte vector of channels of one pixel (V = 8 bf16 or 4 f32: one 128-bit load or
// store per tensor access, the one-byte argmax as one 64- or 32-bit access) when C is a multiple of
// V and every tensor is 16-byte aligned (rows_split_into_16_byte_vectors: ResNet's C = 64 .. 2048),
// else one element (V = 1: C = 3, odd C, offset views). The vector path divides the index
// arithmetic and the window loop's overhead by V; each element's math is the same. The forward
// windows are clamped to the input up front (no per-tap bounds tests), same visiting order.
//   - max forward: a thread scans its window in (r, t) order and keeps, per channel, the
//     first maximum, as the CPU backend (the argmax is the window tap r kw + t, pool.h;
//     padding never chosen).
//   - max / avg backward are gathers, not scatters: the thread of input pixel (ih, iw) visits
//     the outputs whose windows contain it, in increasing (oh, ow) order, adding dy where the
//     argmax names its tap in that window (max; the loads of up to kWindowBatch windows
//     issued together) or dy / (kh kw) (avg). Overlapping windows (stride < kernel) need no
//     atomics, the result is deterministic, and the addition order is the CPU's scatter
//     order, so the sums are the same bits.
//   - global average: forward, one thread per (image, channel item) summing its pixels in
//     order (loads of 4 pixels in flight); backward, one thread per item.
// Floors (e = bytes per element): max forward reads the input about (kh kw)/(sh sw) times
// through the cache (once from DRAM) and writes y (e) and argmax (1 B) per output; backward
// reads argmax and dy for each covering window (through L1: neighbouring inputs share
// windows) and writes dx once. (The argmax was an int32 pixel index: 4 B per output
// written, and read by up to four windows per input pixel in backward, 31% of copy bandwidth
// on an H100 at ResNet-50's stem.) Global average reads x once. Memory bound.
// Precision: f32 accumulation of widened values (bf16 unpacked exactly) in the CPU backend's
// order on both paths, products rounded alone (__fmul_rn, no FMA contraction), one rounding to
// the storage type: f32 results equal the CPU backend's bit for bit, bf16 results equal their
// rounding, whichever path runs.
// Registers (ptxas, CUDA 13, sm_90a and sm_80): at most 64 per thread, no spills, except in
// the max backward's bf16 vector instantiation for over 2^31 work items (28 bytes around its
// 64-bit division calls; split_item); the max forward's per-channel update is written as
// selects, which kept ptxas from spilling the bf16 vector path, and the max backward compares
// the packed argmax bytes four at a time (bytes_equal) instead of unpacking them.
#include <cstdint>
#include <cstring>

#include "kernels/common/elementwise.cuh"
#include "kernels/common/numeric.cuh"
#include "kernels/common/vector16.cuh"
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

// The input rows (or columns) [begin, end) of output row `out`'s window that lie inside the
// input (padding excluded), in the window's order.
__device__ __forceinline__ void window_inside(int out, int pad, int kernel, int stride, int in,
                                              int& begin, int& end) {
  const int first = out * stride - pad;
  begin = first < 0 ? 0 : first;
  end = first + kernel < in ? first + kernel : in;
}

// V consecutive argmax bytes as (V + 3) / 4 words, byte k in bits 8 (k % 4) .. of word
// k / 4: one byte, or one 32-bit (V = 4) or 64-bit (V = 8) access (the address a multiple of
// V: the host checked the array's 16-byte alignment and every item starts at a multiple of V).
template <int V>
__device__ __forceinline__ void load_readonly_tap_words(const PoolArgmax* p,
                                                        std::uint32_t (&words)[(V + 3) / 4]) {
  static_assert(V == 1 || V == 4 || V == 8, "one byte, or a 32- or 64-bit word");
  if constexpr (V == 1) {
    words[0] = *p;
  } else {
#if defined(__CUDACC__)
    if constexpr (V == 4) {
      words[0] = __ldg(reinterpret_cast<const unsigned*>(p));
    } else {
      const uint2 u = __ldg(reinterpret_cast<const uint2*>(p));
      words[0] = u.x, words[1] = u.y;
    }
#else
    ::sombrero::simt::check_vector_alignment(p, V);
    std::memcpy(words, p, V);
#endif
  }
}

// Bit 7 of byte k set where byte k of `word` equals `tap` (0 .. 255), every other bit clear:
// an exact per-byte comparison in plain integer operations (no carry crosses a byte), so
// the argmax stays packed, 2 registers for 8 channels instead of 8.
__device__ __forceinline__ std::uint32_t bytes_equal(std::uint32_t word, int tap) {
  const std::uint32_t x = word ^ (static_cast<std::uint32_t>(tap) * 0x01010101u);
  const std::uint32_t t = (x & 0x7f7f7f7fu) + 0x7f7f7f7fu;  // bit 7 set where the low 7 bits != 0
  return ~(t | x | 0x7f7f7f7fu);
}

template <int V>
__device__ __forceinline__ void store_taps(PoolArgmax* p, const int (&taps)[V]) {
  static_assert(V == 1 || V == 4 || V == 8, "one byte, or a 32- or 64-bit word");
  if constexpr (V == 1) {
    *p = static_cast<PoolArgmax>(taps[0]);
  } else {
    std::uint32_t words[V / 4] = {};
#pragma unroll
    for (int k = 0; k < V; ++k)
      words[k / 4] |= static_cast<std::uint32_t>(taps[k] & 0xff) << (8 * (k % 4));
#if defined(__CUDACC__)
    if constexpr (V == 4)
      *reinterpret_cast<unsigned*>(p) = words[0];
    else
      *reinterpret_cast<uint2*>(p) = make_uint2(words[0], words[1]);
#else
    ::sombrero::simt::check_vector_alignment(p, V);
    std::memcpy(p, words, V);
#endif
  }
}

// Work item v of a [n, height, width] grid's pixels, per_pixel items each: its channel
// offset c (times V), column x, row y and image n. Wide (over 2^31 - 1 items): 64-bit
// divisions (calls, which ptxas spills registers around); otherwise 32-bit ones (every ResNet
// shape; these kernels were issue-bound: max-pool backward at 22% of copy bandwidth on an
// H200).
template <int V, bool Wide>
__device__ __forceinline__ void split_item(std::int64_t v, int per_pixel, int width, int height,
                                           int& c, int& x, int& y, std::int64_t& n) {
  if constexpr (!Wide) {
    const int item = static_cast<int>(v), pixel = item / per_pixel;
    c = (item - pixel * per_pixel) * V;
    const int rest = pixel / width;
    x = pixel - rest * width;
    const int image = rest / height;
    y = rest - image * height;
    n = image;
  } else {
    const std::int64_t pixel = v / per_pixel;
    c = static_cast<int>(v % per_pixel) * V;
    x = static_cast<int>(pixel % width);
    y = static_cast<int>(pixel / width % height);
    n = pixel / (std::int64_t(width) * height);
  }
}

// The same with the width chosen in the kernel from the item count (uniform across the
// grid). The max-pool kernels take Wide as a template argument instead (chosen on the
// host), so that their common instantiation carries no 64-bit path: with it, ptxas spilled
// in the bf16 vector backward; without it, it spills in the average pool's forward.
template <int V>
__device__ __forceinline__ void split_item(std::int64_t v, std::int64_t items, int per_pixel,
                                           int width, int height, int& c, int& x, int& y,
                                           std::int64_t& n) {
  if (items <= 0x7fffffff)
    split_item<V, false>(v, per_pixel, width, height, c, x, y, n);
  else
    split_item<V, true>(v, per_pixel, width, height, c, x, y, n);
}

// V: channels per thread, 1 or kVector16<T> (C a multiple of V, every pointer 16-byte
// aligned). Work item v of a tensor with `pixels` pixels covers channels [c, c + V) of pixel
// v / (C / V), c = (v % (C / V)) V; each element's math is the scalar path's.
template <typename T, int V, bool Wide>
__global__ void __launch_bounds__(kThreads)
    max_pool_forward_kernel(Pool2dShape s, int OH, int OW, const T* __restrict__ x,
                            T* __restrict__ y, PoolArgmax* __restrict__ argmax) {
  const int C = s.channels;  // OH, OW: s.out_height(), s.out_width() (host functions)
  const int per_pixel = C / V;
  const std::int64_t n_out = std::int64_t(s.batch) * OH * OW * per_pixel;
  SOMBRERO_FOR_EACH_ELEMENT(v, n_out) {
    int c, ow, oh;
    std::int64_t n;
    split_item<V, Wide>(v, per_pixel, OW, OH, c, ow, oh, n);
    const T* xn = x + n * s.in_height * s.in_width * C + c;
    float best[V];
    int best_tap[V];
#pragma unroll
    for (int j = 0; j < V; ++j) best[j] = 0.0f, best_tap[j] = -1;
    int ih0, ih1, iw0, iw1;
    window_inside(oh, s.pad_h, s.kernel_h, s.stride_h, s.in_height, ih0, ih1);
    window_inside(ow, s.pad_w, s.kernel_w, s.stride_w, s.in_width, iw0, iw1);
    const int top = oh * s.stride_h - s.pad_h, left = ow * s.stride_w - s.pad_w;
    for (int ih = ih0; ih < ih1; ++ih) {
      for (int iw = iw0; iw < iw1; ++iw) {
        const int tap = (ih - top) * s.kernel_w + (iw - left);
        float value[V];
        load_readonly_as_f32<V>(xn + (std::int64_t(ih) * s.in_width + iw) * C, value);
#pragma unroll
        for (int j = 0; j < V; ++j) {  // selects, not branches: no spills in the bf16 vector path
          const bool take = value[j] > best[j] || best_tap[j] < 0;  // first maximum wins
          best[j] = take ? value[j] : best[j];
          best_tap[j] = take ? tap : best_tap[j];
        }
      }
    }
    const std::int64_t i = v * V;  // (pixel, c) in order: pixel C + c
    store_from_f32<V>(y + i, best);
    store_taps<V>(argmax + i, best_tap);
  }
}

// A thread visits the windows covering its input pixel kWindowBatch at a time, in increasing
// (oh, ow) order: the batch's argmax words and dy vectors are all loaded before any is used.
// (Visiting one window at a time, loading dy only where the argmax routed a channel here, made
// each window two dependent memory latencies: 27% of copy bandwidth on an H100 at ResNet-50's
// stem, 58 registers and 4 blocks per SM too few to hide them.) A 3x3 stride-2 window (the
// stem) covers a pixel at most 2 x 2 times: one batch. dy is now read for every covering
// window, routed or not (with 8 bf16 channels an item, about 6 windows in 10 route some
// channel here anyway); an output's dy serves the 3 x 3 inputs of its window, neighbours in
// one block, through L1.
constexpr int kWindowBatch = 4;

template <typename T, int V, bool Wide>
__global__ void __launch_bounds__(kThreads)
    max_pool_backward_kernel(Pool2dShape s, int OH, int OW, const T* __restrict__ dy,
                             const PoolArgmax* __restrict__ argmax, T* __restrict__ dx) {
  const int C = s.channels;  // OH, OW: s.out_height(), s.out_width() (host functions)
  const int per_pixel = C / V;
  constexpr int Words = (V + 3) / 4;
  const std::int64_t n_in = std::int64_t(s.batch) * s.in_height * s.in_width * per_pixel;
  SOMBRERO_FOR_EACH_ELEMENT(v, n_in) {
    int c, iw, ih;
    std::int64_t n;
    split_item<V, Wide>(v, per_pixel, s.in_width, s.in_height, c, iw, ih, n);
    int oh0, oh1, ow0, ow1;
    covering_outputs(ih, s.pad_h, s.kernel_h, s.stride_h, OH, oh0, oh1);
    covering_outputs(iw, s.pad_w, s.kernel_w, s.stride_w, OW, ow0, ow1);
    float sum[V];
#pragma unroll
    for (int j = 0; j < V; ++j) sum[j] = 0.0f;
    // (oh, ow): the next window to visit; none when a range is empty.
    int oh = ow0 <= ow1 ? oh0 : oh1 + 1, ow = ow0;
    while (oh <= oh1) {
      // Initialised for the compiler's sake only: a window not visited is not read.
      std::uint32_t taps[kWindowBatch][Words] = {};  // the windows' argmax bytes, packed
      int me[kWindowBatch] = {};                     // this pixel's tap in each window
      RawVector<T, V> gradient[kWindowBatch] = {};
      bool visit[kWindowBatch];
#pragma unroll
      for (int b = 0; b < kWindowBatch; ++b) {
        visit[b] = oh <= oh1;
        if (visit[b]) {
          const std::int64_t o = ((n * OH + oh) * OW + ow) * C + c;
          me[b] =
              (ih - (oh * s.stride_h - s.pad_h)) * s.kernel_w + iw - (ow * s.stride_w - s.pad_w);
          load_readonly_tap_words<V>(argmax + o, taps[b]);
          gradient[b] = load_raw_readonly<T, V>(dy + o);
          if (++ow > ow1) ow = ow0, ++oh;
        }
      }
#pragma unroll
      for (int b = 0; b < kWindowBatch; ++b) {
        if (!visit[b]) continue;
        std::uint32_t routed[Words];  // bit 8 (j % 4) + 7 of word j / 4: channel j routes here
#pragma unroll
        for (int w = 0; w < Words; ++w)
          routed[w] = V == 1 ? (taps[b][w] == std::uint32_t(me[b]) ? 0x80u : 0u)
                             : bytes_equal(taps[b][w], me[b]);
        float g[V];
        raw_to_f32<T, V>(gradient[b], g);
#pragma unroll
        for (int j = 0; j < V; ++j)
          if ((routed[j / 4] >> (8 * (j % 4) + 7)) & 1u) sum[j] += g[j];
      }
    }
    store_from_f32<V>(dx + v * V, sum);  // (pixel, c) in order: pixel C + c
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    avg_pool_forward_kernel(Pool2dShape s, int OH, int OW, const T* __restrict__ x,
                            T* __restrict__ y) {
  const int C = s.channels;  // OH, OW: s.out_height(), s.out_width() (host functions)
  const int per_pixel = C / V;
  const float inv = 1.0f / float(s.kernel_h * s.kernel_w);
  const std::int64_t n_out = std::int64_t(s.batch) * OH * OW * per_pixel;
  SOMBRERO_FOR_EACH_ELEMENT(v, n_out) {
    int c, ow, oh;
    std::int64_t n;
    split_item<V>(v, n_out, per_pixel, OW, OH, c, ow, oh, n);
    const T* xn = x + n * s.in_height * s.in_width * C + c;
    float sum[V];
#pragma unroll
    for (int j = 0; j < V; ++j) sum[j] = 0.0f;
    int ih0, ih1, iw0, iw1;
    window_inside(oh, s.pad_h, s.kernel_h, s.stride_h, s.in_height, ih0, ih1);
    window_inside(ow, s.pad_w, s.kernel_w, s.stride_w, s.in_width, iw0, iw1);
    for (int ih = ih0; ih < ih1; ++ih) {
      for (int iw = iw0; iw < iw1; ++iw) {
        float value[V];
        load_readonly_as_f32<V>(xn + (std::int64_t(ih) * s.in_width + iw) * C, value);
#pragma unroll
        for (int j = 0; j < V; ++j) sum[j] += value[j];
      }
    }
#pragma unroll
    for (int j = 0; j < V; ++j) sum[j] = sum[j] * inv;
    store_from_f32<V>(y + v * V, sum);  // (pixel, c) in order: pixel C + c
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    avg_pool_backward_kernel(Pool2dShape s, int OH, int OW, const T* __restrict__ dy,
                             T* __restrict__ dx) {
  const int C = s.channels;  // OH, OW: s.out_height(), s.out_width() (host functions)
  const int per_pixel = C / V;
  const float inv = 1.0f / float(s.kernel_h * s.kernel_w);
  const std::int64_t n_in = std::int64_t(s.batch) * s.in_height * s.in_width * per_pixel;
  SOMBRERO_FOR_EACH_ELEMENT(v, n_in) {
    // Not split_item: with it ptxas (CUDA 13.0, sm_90a) spills 16 bytes in the bf16 vector
    // instantiation, which this decomposition does not.
    const int c = static_cast<int>(v % per_pixel) * V;
    const std::int64_t pixel = v / per_pixel;
    const int iw = static_cast<int>(pixel % s.in_width);
    const int ih = static_cast<int>(pixel / s.in_width % s.in_height);
    const std::int64_t n = pixel / (std::int64_t(s.in_width) * s.in_height);
    int oh0, oh1, ow0, ow1;
    covering_outputs(ih, s.pad_h, s.kernel_h, s.stride_h, OH, oh0, oh1);
    covering_outputs(iw, s.pad_w, s.kernel_w, s.stride_w, OW, ow0, ow1);
    float sum[V];
#pragma unroll
    for (int j = 0; j < V; ++j) sum[j] = 0.0f;
    for (int oh = oh0; oh <= oh1; ++oh)
      for (int ow = ow0; ow <= ow1; ++ow) {
        float g[V];
        load_readonly_as_f32<V>(dy + ((n * OH + oh) * OW + ow) * C + c, g);
#pragma unroll
        for (int j = 0; j < V; ++j) sum[j] = __fadd_rn(sum[j], __fmul_rn(g[j], inv));
      }
    store_from_f32<V>(dx + pixel * C + c, sum);
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    global_avg_pool_forward_kernel(int batch, int pixels, int channels, const T* __restrict__ x,
                                   T* __restrict__ y) {
  const int per_pixel = channels / V;
  SOMBRERO_FOR_EACH_ELEMENT(v, std::int64_t(batch) * per_pixel) {
    const std::int64_t n = v / per_pixel;
    const int c = static_cast<int>(v % per_pixel) * V;
    const T* xn = x + n * pixels * channels + c;
    float sum[V];
#pragma unroll
    for (int j = 0; j < V; ++j) sum[j] = 0.0f;
#pragma unroll 4
    for (int p = 0; p < pixels; ++p) {  // loads of 4 pixels in flight, the sums in order
      float value[V];
      load_readonly_as_f32<V>(xn + std::int64_t(p) * channels, value);
#pragma unroll
      for (int j = 0; j < V; ++j) sum[j] += value[j];
    }
#pragma unroll
    for (int j = 0; j < V; ++j) sum[j] = sum[j] / float(pixels);
    store_from_f32<V>(y + n * channels + c, sum);
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    global_avg_pool_backward_kernel(int batch, int pixels, int channels, const T* __restrict__ dy,
                                    T* __restrict__ dx) {
  const int per_pixel = channels / V;
  SOMBRERO_FOR_EACH_ELEMENT(v, std::int64_t(batch) * pixels * per_pixel) {
    const std::int64_t n = v / (std::int64_t(pixels) * per_pixel);
    const int c = static_cast<int>(v % per_pixel) * V;
    float g[V];
    load_readonly_as_f32<V>(dy + n * channels + c, g);
#pragma unroll
    for (int j = 0; j < V; ++j) g[j] = g[j] / float(pixels);
    store_from_f32<V>(dx + v * V, g);
  }
}

#undef SOMBRERO_FOR_EACH_ELEMENT

std::int64_t outputs(const Pool2dShape& s) {
  return std::int64_t(s.batch) * s.out_height() * s.out_width() * s.channels;
}
std::int64_t inputs(const Pool2dShape& s) {
  return std::int64_t(s.batch) * s.in_height * s.in_width * s.channels;
}

// Launches kernel<T, kVector16<T>> over items / kVector16<T> work items when `vectorized`
// (rows_split_into_16_byte_vectors of the channels and every tensor), else kernel<T, 1> over
// `items`.
#define SOMBRERO_POOL_LAUNCH(kernel, T, vectorized, items, stream, ...)                    \
  do {                                                                                     \
    if (vectorized)                                                                        \
      SOMBRERO_LAUNCH((kernel<T, kVector16<T>>), elementwise_grid((items) / kVector16<T>), \
                      dim3(kThreads), 0, stream, __VA_ARGS__);                             \
    else                                                                                   \
      SOMBRERO_LAUNCH((kernel<T, 1>), elementwise_grid(items), dim3(kThreads), 0, stream,  \
                      __VA_ARGS__);                                                        \
  } while (false)

// The same for the max-pool kernels, which also take Wide: over 2^31 - 1 work items
// (split_item).
#define SOMBRERO_MAX_POOL_LAUNCH(kernel, T, vectorized, items, stream, ...)                  \
  do {                                                                                       \
    const std::int64_t work_items = (vectorized) ? (items) / kVector16<T> : (items);         \
    const dim3 grid = elementwise_grid(work_items);                                          \
    if (work_items > 0x7fffffff) {                                                           \
      if (vectorized)                                                                        \
        SOMBRERO_LAUNCH((kernel<T, kVector16<T>, true>), grid, dim3(kThreads), 0, stream,    \
                        __VA_ARGS__);                                                        \
      else                                                                                   \
        SOMBRERO_LAUNCH((kernel<T, 1, true>), grid, dim3(kThreads), 0, stream, __VA_ARGS__); \
    } else if (vectorized) {                                                                 \
      SOMBRERO_LAUNCH((kernel<T, kVector16<T>, false>), grid, dim3(kThreads), 0, stream,     \
                      __VA_ARGS__);                                                          \
    } else {                                                                                 \
      SOMBRERO_LAUNCH((kernel<T, 1, false>), grid, dim3(kThreads), 0, stream, __VA_ARGS__);  \
    }                                                                                        \
  } while (false)

template <typename T>
void max_forward(const Pool2dShape& s, const T* x, T* y, PoolArgmax* argmax, cudaStream_t stream) {
  check_max_pool2d_shape(s);
  const bool vectorized = rows_split_into_16_byte_vectors(s.channels, sizeof(T), {x, y, argmax});
  SOMBRERO_MAX_POOL_LAUNCH(max_pool_forward_kernel, T, vectorized, outputs(s), stream, s,
                           s.out_height(), s.out_width(), x, y, argmax);
}
template <typename T>
void max_backward(const Pool2dShape& s, const T* dy, const PoolArgmax* argmax, T* dx,
                  cudaStream_t stream) {
  check_max_pool2d_shape(s);
  const bool vectorized = rows_split_into_16_byte_vectors(s.channels, sizeof(T), {dy, argmax, dx});
  SOMBRERO_MAX_POOL_LAUNCH(max_pool_backward_kernel, T, vectorized, inputs(s), stream, s,
                           s.out_height(), s.out_width(), dy, argmax, dx);
}
template <typename T>
void avg_forward(const Pool2dShape& s, const T* x, T* y, cudaStream_t stream) {
  check_pool2d_shape(s);
  const bool vectorized = rows_split_into_16_byte_vectors(s.channels, sizeof(T), {x, y});
  SOMBRERO_POOL_LAUNCH(avg_pool_forward_kernel, T, vectorized, outputs(s), stream, s,
                       s.out_height(), s.out_width(), x, y);
}
template <typename T>
void avg_backward(const Pool2dShape& s, const T* dy, T* dx, cudaStream_t stream) {
  check_pool2d_shape(s);
  const bool vectorized = rows_split_into_16_byte_vectors(s.channels, sizeof(T), {dy, dx});
  SOMBRERO_POOL_LAUNCH(avg_pool_backward_kernel, T, vectorized, inputs(s), stream, s,
                       s.out_height(), s.out_width(), dy, dx);
}
template <typename T>
void global_forward(int batch, int pixels, int channels, const T* x, T* y, cudaStream_t stream) {
  SOMBRERO_CHECK(batch > 0 && pixels > 0 && channels > 0, "global_avg_pool: empty shape");
  const bool vectorized = rows_split_into_16_byte_vectors(channels, sizeof(T), {x, y});
  SOMBRERO_POOL_LAUNCH(global_avg_pool_forward_kernel, T, vectorized,
                       std::int64_t(batch) * channels, stream, batch, pixels, channels, x, y);
}
template <typename T>
void global_backward(int batch, int pixels, int channels, const T* dy, T* dx, cudaStream_t stream) {
  SOMBRERO_CHECK(batch > 0 && pixels > 0 && channels > 0, "global_avg_pool: empty shape");
  const bool vectorized = rows_split_into_16_byte_vectors(channels, sizeof(T), {dy, dx});
  SOMBRERO_POOL_LAUNCH(global_avg_pool_backward_kernel, T, vectorized,
                       std::int64_t(batch) * pixels * channels, stream, batch, pixels, channels, dy,
                       dx);
}

#undef SOMBRERO_POOL_LAUNCH
#undef SOMBRERO_MAX_POOL_LAUNCH

}  // namespace

namespace SOMBRERO_EXEC {

void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, PoolArgmax* argmax,
                        cudaStream_t stream) {
  max_forward(shape, x, y, argmax, stream);
}
void max_pool2d_forward(const Pool2dShape& shape, const bf16* x, bf16* y, PoolArgmax* argmax,
                        cudaStream_t stream) {
  max_forward(shape, device_bf16(x), device_bf16(y), argmax, stream);
}
void max_pool2d_backward(const Pool2dShape& shape, const float* dy, const PoolArgmax* argmax,
                         float* dx, cudaStream_t stream) {
  max_backward(shape, dy, argmax, dx, stream);
}
void max_pool2d_backward(const Pool2dShape& shape, const bf16* dy, const PoolArgmax* argmax,
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
