// Elementwise operations of the layers (math in pointwise.h): ReLU forward / backward, residual
// add, in-place add, per-channel bias add, the bias gradient (a per-channel sum), and the
// option-A shortcut's subsample + zero channel padding and its gradient.
//
// Parallelisation: 256 threads per block, a grid-stride loop over at most 1024 blocks
// (consecutive threads, consecutive elements or vectors: coalesced). Two paths, chosen on the
// host once per launch, each its own template instantiation <V>:
//   - relu_forward, relu_backward, add, add_inplace: when every pointer is 16-byte aligned a
//     thread moves one 16-byte vector per input and output per iteration (V = 8 bf16 or 4 f32,
//     one 128-bit load / store, unpacked to f32), the n % V tail elements one each by the first
//     threads; otherwise (an offset view) one element per iteration (V = 1). All loads are
//     plain (coherent), not the read-only path: dx may alias dy, y may alias a or b.
//   - bias_add: the channel-tiled layout of channel_tiles.cuh (as batch_norm.cu's affine pass):
//     a thread owns one 16-byte vector of channels when C is a multiple of V and y is aligned,
//     else one channel, its biases in registers, and steps over rows: no per-element modulo.
// bias_backward uses the channel-tiled two-level sum of channel_tiles.cuh (16-byte
// channel vectors per thread where rows allow, per-row-block partials, then one thread per
// channel adding them in order in double): deterministic, no float atomics.
// Floors (e = bytes per element: 4 f32, 2 bf16): relu_forward 2e, relu_backward 3e, add 3e,
// add_inplace 3e, bias_add 2e per element; bias_backward e per element. All memory bound; the
// vector path amortises the 64-bit index arithmetic over 4 or 8 elements.
// channel_pad_subsample_forward / _backward: one thread per output element, each a gather (the
// zeros written too, so no memset): the copied elements are read once and written once, the
// zeros written once; a pure copy, so equal to the CPU backend bit for bit.
// Precision: f32 math on widened values (bf16 unpacked exactly), one rounding to the storage
// type (to nearest even), the same expression per element on both paths. relu_backward
// passes dy where the forward output's bits, as an int32, are > 0 (y > 0, and a NaN with the
// sign bit clear), as the CPU backend. Every result equals the CPU backend's bit for bit, on
// either path, except bias_backward's sum (f32 chains of <= 16 terms per thread, then double,
// against the CPU's double).
// Registers (ptxas, sm_90): at most 29 per thread for the elementwise and bias_add kernels, no
// spills (sm_80 too).
#include <cstdint>
#include <cstring>

#include "kernels/common/channel_tiles.cuh"
#include "kernels/common/elementwise.cuh"
#include "kernels/common/numeric.cuh"
#include "kernels/common/vector16.cuh"
#include "kernels/pointwise/pointwise.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {
namespace {

constexpr int kThreads = kElementwiseThreads;  // kernels/common/elementwise.cuh

// Runs op.template at<W>(i) over [0, n): with V = 1, one element per grid-stride iteration
// (W = 1); with V = kVector16<T>, one 16-byte vector per iteration (W = V, i a multiple of V,
// every pointer 16-byte aligned: the host checked) and then the n % V tail elements one each,
// by the first threads of the grid.
template <int V, typename Op>
__device__ __forceinline__ void for_each_vector(std::int64_t n, const Op& op) {
  const std::int64_t first = std::int64_t(blockIdx.x) * kThreads + threadIdx.x;
  const std::int64_t step = std::int64_t(gridDim.x) * kThreads;
  const std::int64_t vectors = n / V;
  for (std::int64_t v = first; v < vectors; v += step) op.template at<V>(v * V);
  if constexpr (V > 1) {  // n % V < V <= step tail elements: at most one per thread
    const std::int64_t i = vectors * V + first;
    if (i < n) op.template at<1>(i);
  }
}

// The per-element math (the same expressions on both paths). Every input is read with a
// plain (coherent) load: dx may alias dy, y may alias a or b (add_inplace passes a = y).
template <typename T>
struct ReluForward {
  const T* x;
  T* y;
  template <int W>
  __device__ __forceinline__ void at(std::int64_t i) const {
    float v[W];
    load_as_f32<W>(x + i, v);
    for (int j = 0; j < W; ++j) v[j] = relu_value(v[j]);
    store_from_f32<W>(y + i, v);
  }
};

template <typename T>
struct ReluBackward {
  const T* y;
  const T* dy;
  T* dx;
  template <int W>
  __device__ __forceinline__ void at(std::int64_t i) const {
    float out[W], g[W];
    load_as_f32<W>(y + i, out);
    load_as_f32<W>(dy + i, g);
    for (int j = 0; j < W; ++j) g[j] = relu_backward_mask(out[j], g[j]);
    store_from_f32<W>(dx + i, g);
  }
};

template <typename T>
struct Add {
  const T* a;
  const T* b;
  T* y;
  template <int W>
  __device__ __forceinline__ void at(std::int64_t i) const {
    float u[W], v[W];
    load_as_f32<W>(a + i, u);
    load_as_f32<W>(b + i, v);
    for (int j = 0; j < W; ++j) u[j] = u[j] + v[j];
    store_from_f32<W>(y + i, u);
  }
};

// V: elements per access, 1 or kVector16<T>; Op: one of the structs above.
template <int V, typename Op>
__global__ void __launch_bounds__(kThreads) elementwise_kernel(std::int64_t n, Op op) {
  for_each_vector<V>(n, op);
}

// y[r, c] += bias[c] on the channel-tiled layout (channel_tiles.cuh): a thread owns V
// consecutive channels (one 16-byte vector, or one channel) of one row lane, their biases in
// registers, and steps over rows.
template <typename T, int V>
__global__ void __launch_bounds__(kChannelBlockThreads)
    bias_add_kernel(std::int64_t rows, int channels, ChannelTiling tiling,
                    const float* __restrict__ bias, T* __restrict__ y) {
  const ChannelThread me(tiling);
  if (!me.active) return;
  float b[V];
  for (int j = 0; j < V; ++j) b[j] = bias[me.c0 + j];
  for (std::int64_t r = me.first_row; r < rows; r += me.row_step) {
    T* row = y + r * channels + me.c0;
    float v[V];
    load_as_f32<V>(row, v);
    for (int j = 0; j < V; ++j) v[j] = v[j] + b[j];
    store_from_f32<V>(row, v);
  }
}

// y[n, oh, ow, oc] = x[n, oh s, ow s, oc - pad] for pad <= oc < pad + in_channels, else 0:
// one thread per output pixel, which writes its out_channels as whole 16-byte vectors of V
// elements (V = 1 where out_channels or y do not split into them), values copied bit for bit.
// (One thread per element, with four 64-bit divisions each and 2-byte stores, made the RGB
// stem's 3 -> 8 padding take 750 us for 256 images of 224x224 on an H200; per pixel, 92.)
template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    channel_pad_subsample_forward_kernel(ChannelPadShape s, const T* __restrict__ x,
                                         T* __restrict__ y) {
  const int oh = s.out_height(), ow = s.out_width(), pad = s.pad();
  const std::int64_t pixels = std::int64_t(s.batch) * oh * ow;
  const T zero = from_float<T>(0.0f);
  SOMBRERO_FOR_EACH_ELEMENT(p, pixels) {
    const std::int64_t w = p % ow, h = p / ow % oh, n = p / (std::int64_t(ow) * oh);
    const T* source =
        x + ((n * s.in_height + h * s.stride) * s.in_width + w * s.stride) * s.in_channels;
    T* target = y + p * s.out_channels;
    for (int c0 = 0; c0 < s.out_channels; c0 += V) {
      T values[V];
#pragma unroll
      for (int j = 0; j < V; ++j) {
        const int c = c0 + j - pad;
        values[j] = c >= 0 && c < s.in_channels ? source[c] : zero;
      }
      if constexpr (V == 1) {
        target[c0] = values[0];
      } else {
        uint4 bits;
        std::memcpy(&bits, values, sizeof bits);
        vector16_detail::store(target + c0, bits);
      }
    }
  }
}

// dx[n, h, w, c] = dy[n, h / s, w / s, pad + c] where h and w are multiples of s, else 0.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    channel_pad_subsample_backward_kernel(ChannelPadShape s, const T* __restrict__ dy,
                                          T* __restrict__ dx) {
  const std::int64_t n_in = s.input_elements();
  const int oh = s.out_height(), ow = s.out_width();
  SOMBRERO_FOR_EACH_ELEMENT(i, n_in) {
    const int c = static_cast<int>(i % s.in_channels);
    const std::int64_t pixel = i / s.in_channels;
    const std::int64_t w = pixel % s.in_width, h = pixel / s.in_width % s.in_height,
                       n = pixel / (std::int64_t(s.in_width) * s.in_height);
    dx[i] = h % s.stride == 0 && w % s.stride == 0
                ? dy[((n * oh + h / s.stride) * ow + w / s.stride) * s.out_channels + s.pad() + c]
                : from_float<T>(0.0f);
  }
}

#undef SOMBRERO_FOR_EACH_ELEMENT

// sums[0] += dy (channel_partial_sums_kernel's Term).
template <typename T, int V>
struct DySum {
  static constexpr int kSums = 1, kInputs = 1;
  struct Constants {};
  const T* dy;
  __device__ __forceinline__ Constants constants(int) const { return {}; }
  __device__ __forceinline__ void load(std::int64_t i, float (&in)[1][V]) const {
    load_readonly_as_f32<V>(dy + i, in[0]);
  }
  __device__ __forceinline__ void add(const Constants&, const float (&in)[1][V],
                                      float (&sums)[1][V]) const {
    for (int j = 0; j < V; ++j) sums[0][j] += in[0][j];
  }
};

__global__ void __launch_bounds__(kThreads)
    bias_backward_finalize_kernel(int channels, int row_blocks, const float* __restrict__ partials,
                                  float* __restrict__ dbias) {
  const int c = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (c >= channels) return;
  dbias[c] += static_cast<float>(sum_channel_partials(partials, row_blocks, 1, 0, channels, c));
}

// The 16-byte vector path when every pointer is 16-byte aligned (any n: the tail is scalar),
// else one element per iteration.
template <typename T, template <typename> class Op, typename... Pointers>
void launch_elementwise(std::int64_t n, cudaStream_t stream, Pointers... pointers) {
  if (n <= 0) return;
  const Op<T> op{pointers...};
  if (rows_split_into_16_byte_vectors(kVector16<T>, sizeof(T), {pointers...}))
    SOMBRERO_LAUNCH((elementwise_kernel<kVector16<T>, Op<T>>),
                    elementwise_grid((n + kVector16<T> - 1) / kVector16<T>), dim3(kThreads), 0,
                    stream, n, op);
  else
    SOMBRERO_LAUNCH((elementwise_kernel<1, Op<T>>), elementwise_grid(n), dim3(kThreads), 0, stream,
                    n, op);
}

template <typename T>
void launch_relu_forward(std::int64_t n, const T* x, T* y, cudaStream_t stream) {
  launch_elementwise<T, ReluForward>(n, stream, x, y);
}
template <typename T>
void launch_relu_backward(std::int64_t n, const T* y, const T* dy, T* dx, cudaStream_t stream) {
  launch_elementwise<T, ReluBackward>(n, stream, y, dy, dx);
}
template <typename T>
void launch_add(std::int64_t n, const T* a, const T* b, T* y, cudaStream_t stream) {
  launch_elementwise<T, Add>(n, stream, a, b, y);
}
template <typename T>
void launch_bias_add(std::int64_t rows, int channels, const float* bias, T* y,
                     cudaStream_t stream) {
  if (rows <= 0 || channels <= 0) return;
  const ChannelTiling tiling = channel_tiling(
      channels, sizeof(T), rows_split_into_16_byte_vectors(channels, sizeof(T), {y}));
  const dim3 grid = channel_elementwise_grid(rows, tiling);
  if (tiling.vector > 1)
    SOMBRERO_LAUNCH((bias_add_kernel<T, kVector16<T>>), grid, channel_tile_block(), 0, stream, rows,
                    channels, tiling, bias, y);
  else
    SOMBRERO_LAUNCH((bias_add_kernel<T, 1>), grid, channel_tile_block(), 0, stream, rows, channels,
                    tiling, bias, y);
}
template <typename T>
void launch_bias_backward(std::int64_t rows, int channels, const T* dy, float* dbias,
                          float* workspace, cudaStream_t stream) {
  if (rows <= 0 || channels <= 0) return;
  const ChannelTiling tiling = channel_tiling(
      channels, sizeof(T), rows_split_into_16_byte_vectors(channels, sizeof(T), {dy}));
  launch_channel_partial_sums<T, DySum>(rows, channels, tiling, workspace, stream, dy);
  SOMBRERO_LAUNCH(bias_backward_finalize_kernel,
                  dim3(static_cast<unsigned>((channels + kThreads - 1) / kThreads)), dim3(kThreads),
                  0, stream, channels, channel_row_blocks(rows), workspace, dbias);
}

template <typename T>
void launch_channel_pad_subsample_forward(const ChannelPadShape& s, const T* x, T* y,
                                          cudaStream_t stream) {
  const std::int64_t pixels = std::int64_t(s.batch) * s.out_height() * s.out_width();
  if (pixels <= 0 || s.out_channels <= 0) return;
  const dim3 grid = elementwise_grid(pixels);
  if (rows_split_into_16_byte_vectors(s.out_channels, sizeof(T), {y}))
    SOMBRERO_LAUNCH((channel_pad_subsample_forward_kernel<T, kVector16<T>>), grid, dim3(kThreads),
                    0, stream, s, x, y);
  else
    SOMBRERO_LAUNCH((channel_pad_subsample_forward_kernel<T, 1>), grid, dim3(kThreads), 0, stream,
                    s, x, y);
}
template <typename T>
void launch_channel_pad_subsample_backward(const ChannelPadShape& s, const T* dy, T* dx,
                                           cudaStream_t stream) {
  const std::int64_t n = s.input_elements();
  if (n > 0)
    SOMBRERO_LAUNCH(channel_pad_subsample_backward_kernel<T>, elementwise_grid(n), dim3(kThreads),
                    0, stream, s, dy, dx);
}

}  // namespace

namespace SOMBRERO_EXEC {

void relu_forward(std::int64_t n, const float* x, float* y, cudaStream_t stream) {
  launch_relu_forward(n, x, y, stream);
}
void relu_forward(std::int64_t n, const bf16* x, bf16* y, cudaStream_t stream) {
  launch_relu_forward(n, device_bf16(x), device_bf16(y), stream);
}
void relu_backward(std::int64_t n, const float* y, const float* dy, float* dx,
                   cudaStream_t stream) {
  launch_relu_backward(n, y, dy, dx, stream);
}
void relu_backward(std::int64_t n, const bf16* y, const bf16* dy, bf16* dx, cudaStream_t stream) {
  launch_relu_backward(n, device_bf16(y), device_bf16(dy), device_bf16(dx), stream);
}
void add(std::int64_t n, const float* a, const float* b, float* y, cudaStream_t stream) {
  launch_add(n, a, b, y, stream);
}
void add(std::int64_t n, const bf16* a, const bf16* b, bf16* y, cudaStream_t stream) {
  launch_add(n, device_bf16(a), device_bf16(b), device_bf16(y), stream);
}
void add_inplace(std::int64_t n, const float* x, float* y, cudaStream_t stream) {
  launch_add<float>(n, y, x, y, stream);  // y + x, as the CPU's y += x
}
void add_inplace(std::int64_t n, const bf16* x, bf16* y, cudaStream_t stream) {
  launch_add(n, static_cast<const __nv_bfloat16*>(device_bf16(y)), device_bf16(x), device_bf16(y),
             stream);
}
void bias_add(std::int64_t rows, int channels, const float* bias, float* y, cudaStream_t stream) {
  launch_bias_add(rows, channels, bias, y, stream);
}
void bias_add(std::int64_t rows, int channels, const float* bias, bf16* y, cudaStream_t stream) {
  launch_bias_add(rows, channels, bias, device_bf16(y), stream);
}
void bias_backward(std::int64_t rows, int channels, const float* dy, float* dbias, float* workspace,
                   cudaStream_t stream) {
  launch_bias_backward(rows, channels, dy, dbias, workspace, stream);
}
void bias_backward(std::int64_t rows, int channels, const bf16* dy, float* dbias, float* workspace,
                   cudaStream_t stream) {
  launch_bias_backward(rows, channels, device_bf16(dy), dbias, workspace, stream);
}
void channel_pad_subsample_forward(const ChannelPadShape& shape, const float* x, float* y,
                                   cudaStream_t stream) {
  launch_channel_pad_subsample_forward(shape, x, y, stream);
}
void channel_pad_subsample_forward(const ChannelPadShape& shape, const bf16* x, bf16* y,
                                   cudaStream_t stream) {
  launch_channel_pad_subsample_forward(shape, device_bf16(x), device_bf16(y), stream);
}
void channel_pad_subsample_backward(const ChannelPadShape& shape, const float* dy, float* dx,
                                    cudaStream_t stream) {
  launch_channel_pad_subsample_backward(shape, dy, dx, stream);
}
void channel_pad_subsample_backward(const ChannelPadShape& shape, const bf16* dy, bf16* dx,
                                    cudaStream_t stream) {
  launch_channel_pad_subsample_backward(shape, device_bf16(dy), device_bf16(dx), stream);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::kernels
