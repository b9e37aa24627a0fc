// Benchmark-only device code (see bench_kernels.h): the cross-check reduction and the
// unfused U(1) baseline. Built by nvcc only; launches go through SOMBRERO_LAUNCH.
//
// max_abs_difference: grid-stride loop, per-thread maxima, a warp max by shuffles, one
// atomicMax per warp on the float's bits (non-negative floats order like their bits; a NaN
// |a - b| has the largest bits and wins, so a NaN output shows up as NaN).
//
// u1_moments: one block (256 threads, 8 warps) per sample. Warps take sites; each lane reads
// E[site] once per site (lane 0 accumulates S_E and P) and the site's channels n = lane,
// lane + 32, ... of A (S_A and Q = sum A e_n). Fixed-order block sums. Thread 0 writes the
// moments, z, the U(1) loss and the angle readout (a loop over the classes, as the fused
// kernel does it). Reads A once and E once.
// u1_gradient: one thread per element, grid-stride; reads A and dA, writes dA; the sample's
// moments and the harmonic table come from L1/L2.
// Arithmetic in f32, as in the fused kernel (kernels/u1loss/u1_loss.cu), which it matches up
// to summation order.
#include <cfloat>
#include <cstdint>

#include "benchmarks/bench_kernels.h"
#include "kernels/common/numeric.cuh"
#include "runtime/kernel_api.h"

namespace sombrero::benchmarks::cuda {

namespace {

using kernels::from_float;
using kernels::to_float;
using kernels::U1LossConfig;
using kernels::U1LossShape;
using kernels::U1Space;
using kernels::warp_sum;

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr float kTwoPi = 6.28318530717958647692f;
constexpr float kInvSqrt2 = 0.70710678118654752440f;

int grid_for(long long work, int per_block) {
  const long long blocks = (work + per_block - 1) / per_block;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

template <typename T>
__global__ void max_abs_difference_kernel(const T* a, const T* b, long long n,
                                          unsigned int* result) {
  float diff = 0.0f, ref = 0.0f;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const float x = to_float(a[i]), y = to_float(b[i]);
    const float d = fabsf(x - y);
    diff = (d > diff || d != d) ? d : diff;  // keeps NaN
    ref = fmaxf(ref, fabsf(y));
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other_diff = __shfl_xor_sync(0xffffffffu, diff, offset);
    diff = (other_diff > diff || other_diff != other_diff) ? other_diff : diff;
    ref = fmaxf(ref, __shfl_xor_sync(0xffffffffu, ref, offset));
  }
  if (threadIdx.x % 32 == 0) {
    atomicMax(&result[0], __float_as_uint(fabsf(diff)));
    atomicMax(&result[1], __float_as_uint(ref));
  }
}

__device__ float centred(int i, int n) {
  return (2.0f * i - (n - 1)) / static_cast<float>(n > 1 ? n - 1 : 1);
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    u1_moments_kernel(U1LossShape shape, U1LossConfig config, const float* energy, const T* A,
                      const float* harmonic, const std::int32_t* labels, const float* class_angles,
                      float* moments_out, float* sample_losses, float* z,
                      std::int32_t* angle_prediction) {
  __shared__ float scratch[kWarps][6];
  const int b = blockIdx.x;
  const int H = shape.height, W = shape.width, N = shape.channels;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const T* sample = A + static_cast<long long>(b) * H * W * N;
  const float* sample_energy = energy + static_cast<long long>(b) * H * W;
  float m[6] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};  // S_E, P_x, P_y, S_A, Q_x, Q_y
  for (int site = warp; site < H * W; site += kWarps) {
    if (lane == 0) {
      const float e = sample_energy[site];
      m[0] += e;
      m[1] = fmaf(e, centred(site % W, W), m[1]);
      m[2] = fmaf(e, -centred(site / W, H), m[2]);
    }
    const T* row = sample + static_cast<long long>(site) * N;
    for (int n = lane; n < N; n += 32) {
      const float v = to_float(row[n]);
      m[3] += v;
      m[4] = fmaf(v, harmonic[n], m[4]);
      m[5] = fmaf(v, harmonic[N + n], m[5]);
    }
  }
  for (int k = 0; k < 6; ++k) m[k] = warp_sum(m[k]);
  if (lane == 0)
    for (int k = 0; k < 6; ++k) scratch[warp][k] = m[k];
  __syncthreads();
  if (threadIdx.x != 0) return;
  for (int k = 0; k < 6; ++k) {
    m[k] = 0.0f;
    for (int w = 0; w < kWarps; ++w) m[k] += scratch[w][k];
  }
  const float s_e = m[0] + config.eps * H * W;
  const float s_a = m[3] + config.eps * H * W * N;
  const float img_x = m[1] * kInvSqrt2 / s_e, img_y = m[2] * kInvSqrt2 / s_e;
  const float feat_x = m[4] / s_a, feat_y = m[5] / s_a;
  float* out = moments_out + 6 * b;
  out[0] = s_e;
  out[1] = img_x;
  out[2] = img_y;
  out[3] = s_a;
  out[4] = feat_x;
  out[5] = feat_y;
  const float zi = image_share(config.space), zf = feature_share(config.space);
  const float z_x = zi * img_x + zf * feat_x, z_y = zi * img_y + zf * feat_y;
  const int label = labels[b];
  const float theta = class_angles[label];
  sample_losses[2 * b + 1] = 1.0f - (z_x * cosf(theta) + z_y * sinf(theta));
  z[2 * b] = z_x;
  z[2 * b + 1] = z_y;
  const float angle = atan2f(z_y, z_x);
  int best = 0;
  float best_distance = 10.0f;
  for (int c = 0; c < shape.classes; ++c) {
    float d = fmodf(fabsf(angle - class_angles[c]), kTwoPi);
    d = fminf(d, kTwoPi - d);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  angle_prediction[b] = best;
}

template <typename T>
__global__ void u1_gradient_kernel(U1LossShape shape, U1LossConfig config, const T* A,
                                   const float* harmonic, const float* moments,
                                   const std::int32_t* labels, const float* class_angles, T* dA,
                                   long long elements) {
  const int H = shape.height, W = shape.width, N = shape.channels;
  const long long per_sample = static_cast<long long>(H) * W * N;
  const float scale = config.weight / static_cast<float>(shape.batch);
  const float zi = image_share(config.space), zf = feature_share(config.space);
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < elements;
       i += stride) {
    const int b = static_cast<int>(i / per_sample);
    const int n = static_cast<int>(i % N);
    const int site = static_cast<int>((i % per_sample) / N);
    const float* m = moments + 6 * b;
    const float theta = class_angles[labels[b]];
    const float u_x = cosf(theta), u_y = sinf(theta);
    const float u_dot_p = u_x * centred(site % W, W) - u_y * centred(site / W, H);
    const float image_term =
        scale * zi * 2.0f * (-(u_dot_p * kInvSqrt2 - (u_x * m[1] + u_y * m[2])) / m[0]);
    const float feature_scale = -scale * zf / m[3];
    const float v = to_float(A[i]);
    const float g = image_term * v + feature_scale * ((u_x * harmonic[n] + u_y * harmonic[N + n]) -
                                                      (u_x * m[4] + u_y * m[5]));
    dA[i] = from_float<T>(to_float(dA[i]) + g);
  }
}

template <typename T>
void difference(const T* a, const T* b, long long n, float* result, cudaStream_t stream) {
  SOMBRERO_CHECK_CUDA(cudaMemsetAsync(result, 0, 2 * sizeof(float), stream));
  SOMBRERO_LAUNCH(max_abs_difference_kernel<T>, dim3(grid_for(n, 256 * 8)), dim3(256), 0, stream, a,
                  b, n, reinterpret_cast<unsigned int*>(result));
}

}  // namespace

void max_abs_difference(const float* a, const float* b, long long n, float* result,
                        cudaStream_t stream) {
  difference(a, b, n, result, stream);
}
void max_abs_difference(const bf16* a, const bf16* b, long long n, float* result,
                        cudaStream_t stream) {
  difference(kernels::device_bf16(a), kernels::device_bf16(b), n, result, stream);
}

void u1_moments(const U1LossShape& shape, const U1LossConfig& config, const float* energy,
                const float* activation, const float* harmonic, const std::int32_t* labels,
                const float* class_angles, float* moments, float* sample_losses, float* z,
                std::int32_t* angle_prediction, cudaStream_t stream) {
  SOMBRERO_LAUNCH(u1_moments_kernel<float>, dim3(shape.batch), dim3(kThreads), 0, stream, shape,
                  config, energy, activation, harmonic, labels, class_angles, moments,
                  sample_losses, z, angle_prediction);
}
void u1_moments(const U1LossShape& shape, const U1LossConfig& config, const float* energy,
                const bf16* activation, const float* harmonic, const std::int32_t* labels,
                const float* class_angles, float* moments, float* sample_losses, float* z,
                std::int32_t* angle_prediction, cudaStream_t stream) {
  SOMBRERO_LAUNCH(u1_moments_kernel<__nv_bfloat16>, dim3(shape.batch), dim3(kThreads), 0, stream,
                  shape, config, energy, kernels::device_bf16(activation), harmonic, labels,
                  class_angles, moments, sample_losses, z, angle_prediction);
}

void u1_gradient(const U1LossShape& shape, const U1LossConfig& config, const float* activation,
                 const float* harmonic, const float* moments, const std::int32_t* labels,
                 const float* class_angles, float* dactivation, cudaStream_t stream) {
  const long long elements =
      static_cast<long long>(shape.batch) * shape.height * shape.width * shape.channels;
  SOMBRERO_LAUNCH(u1_gradient_kernel<float>, dim3(grid_for(elements, 256)), dim3(256), 0, stream,
                  shape, config, activation, harmonic, moments, labels, class_angles, dactivation,
                  elements);
}
void u1_gradient(const U1LossShape& shape, const U1LossConfig& config, const bf16* activation,
                 const float* harmonic, const float* moments, const std::int32_t* labels,
                 const float* class_angles, bf16* dactivation, cudaStream_t stream) {
  const long long elements =
      static_cast<long long>(shape.batch) * shape.height * shape.width * shape.channels;
  SOMBRERO_LAUNCH(u1_gradient_kernel<__nv_bfloat16>, dim3(grid_for(elements, 256)), dim3(256), 0,
                  stream, shape, config, kernels::device_bf16(activation), harmonic, moments,
                  labels, class_angles, kernels::device_bf16(dactivation), elements);
}

}  // namespace sombrero::benchmarks::cuda
