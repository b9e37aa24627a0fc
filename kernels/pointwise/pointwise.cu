// Elementwise operations of the layers (math in pointwise.h): ReLU forward / backward, residual
// add, in-place add, per-channel bias add, the bias gradient (a per-channel sum), and the
// option-A shortcut's subsample + zero channel padding and its gradient.
//
// Parallelisation: the elementwise kernels are one thread per element, 256 threads per block,
// a grid-stride loop over at most 1024 blocks (consecutive threads, consecutive elements:
// coalesced). bias_backward uses the channel-tiled two-level sum of channel_tiles.cuh (16-byte
// channel vectors per thread where rows allow, per-row-block partials, then one thread per
// channel adding them in order in double): deterministic, no float atomics.
// Floors (e = bytes per element: 4 f32, 2 bf16): relu_forward 2e, relu_backward 3e, add 3e,
// add_inplace 3e, bias_add 2e per element; bias_backward e per element. All memory bound.
// channel_pad_subsample_forward / _backward: one thread per output element, each a gather (the
// zeros written too, so no memset): the copied elements are read once and written once, the
// zeros written once; a pure copy, so equal to the CPU backend bit for bit.
// Precision: f32 math on widened values, one rounding to the storage type. relu_backward
// passes dy where the forward output's bits, as an int32, are > 0 (y > 0, and a NaN with the
// sign bit clear), as the CPU backend. Every result equals the CPU backend's bit for bit except
// bias_backward's sum (f32 chains of <= 16 + 8 terms, then double, against the CPU's double).
#include "kernels/common/channel_tiles.cuh"
#include "kernels/common/elementwise.cuh"
#include "kernels/common/numeric.cuh"
#include "kernels/pointwise/pointwise.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {
namespace {

constexpr int kThreads = kElementwiseThreads;  // kernels/common/elementwise.cuh

template <typename T>
__global__ void __launch_bounds__(kThreads) relu_forward_kernel(std::int64_t n, const T* x, T* y) {
  SOMBRERO_FOR_EACH_ELEMENT(i, n) {
    const float v = to_float(x[i]);
    y[i] = from_float<T>(v < 0.0f ? 0.0f : v);  // NaN passes, as torch's ReLU
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    relu_backward_kernel(std::int64_t n, const T* y, const T* dy, T* dx) {
  SOMBRERO_FOR_EACH_ELEMENT(i, n) {
    const float g = to_float(dy[i]);
    dx[i] = from_float<T>(__float_as_int(to_float(y[i])) > 0 ? g : 0.0f);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    add_kernel(std::int64_t n, const T* a, const T* b, T* y) {
  SOMBRERO_FOR_EACH_ELEMENT(i, n) y[i] = from_float<T>(to_float(a[i]) + to_float(b[i]));
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    bias_add_kernel(std::int64_t n, int channels, const float* __restrict__ bias, T* y) {
  SOMBRERO_FOR_EACH_ELEMENT(i, n) {
    y[i] = from_float<T>(to_float(y[i]) + bias[i % channels]);
  }
}

// y[n, oh, ow, oc] = x[n, oh s, ow s, oc - pad] for pad <= oc < pad + in_channels, else 0.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    channel_pad_subsample_forward_kernel(ChannelPadShape s, const T* __restrict__ x,
                                         T* __restrict__ y) {
  const std::int64_t n_out = s.output_elements();
  const int oh = s.out_height(), ow = s.out_width(), pad = s.pad();
  SOMBRERO_FOR_EACH_ELEMENT(i, n_out) {
    const int c = static_cast<int>(i % s.out_channels) - pad;
    const std::int64_t pixel = i / s.out_channels;
    const std::int64_t w = pixel % ow, h = pixel / ow % oh, n = pixel / (std::int64_t(ow) * oh);
    y[i] =
        c >= 0 && c < s.in_channels
            ? x[((n * s.in_height + h * s.stride) * s.in_width + w * s.stride) * s.in_channels + c]
            : from_float<T>(0.0f);
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

template <typename T>
void launch_relu_forward(std::int64_t n, const T* x, T* y, cudaStream_t stream) {
  if (n > 0)
    SOMBRERO_LAUNCH(relu_forward_kernel<T>, elementwise_grid(n), dim3(kThreads), 0, stream, n, x,
                    y);
}
template <typename T>
void launch_relu_backward(std::int64_t n, const T* y, const T* dy, T* dx, cudaStream_t stream) {
  if (n > 0)
    SOMBRERO_LAUNCH(relu_backward_kernel<T>, elementwise_grid(n), dim3(kThreads), 0, stream, n, y,
                    dy, dx);
}
template <typename T>
void launch_add(std::int64_t n, const T* a, const T* b, T* y, cudaStream_t stream) {
  if (n > 0)
    SOMBRERO_LAUNCH(add_kernel<T>, elementwise_grid(n), dim3(kThreads), 0, stream, n, a, b, y);
}
template <typename T>
void launch_bias_add(std::int64_t rows, int channels, const float* bias, T* y,
                     cudaStream_t stream) {
  const std::int64_t n = rows * channels;
  if (n > 0)
    SOMBRERO_LAUNCH(bias_add_kernel<T>, elementwise_grid(n), dim3(kThreads), 0, stream, n, channels,
                    bias, y);
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
  const std::int64_t n = s.output_elements();
  if (n > 0)
    SOMBRERO_LAUNCH(channel_pad_subsample_forward_kernel<T>, elementwise_grid(n), dim3(kThreads), 0,
                    stream, s, x, y);
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
