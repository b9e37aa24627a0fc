// Device pieces both fused-loss kernels share (u1_loss.cu: streaming; u1_loss_resident.cuh):
// block reductions, the angle readout, the harmonic table, the cross-entropy of one sample,
// and the per-sample totals -> outputs and gradient terms step. The math: docs/u1.md.
// Precision: f32 throughout; every reduction sums in a fixed order (deterministic).
#pragma once

#include <cfloat>

#include "kernels/common/numeric.cuh"
#include "kernels/common/vector16.cuh"
#include "kernels/u1loss/u1_loss.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels::SOMBRERO_EXEC::u1_device {

constexpr float kTwoPi = 6.28318530717958647692f;
constexpr float kInvPi = 0.31830988618379067154f;
constexpr float kInvSqrt2 = 0.70710678118654752440f;

// Sums K values over the block of Warps warps; every thread receives the totals. Fixed
// summation order.
template <int Warps, int K>
__device__ void block_sum(float (&v)[K], float (*scratch)[8]) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int k = 0; k < K; ++k) v[k] = warp_sum(v[k]);
  if (lane == 0)
    for (int k = 0; k < K; ++k) scratch[warp][k] = v[k];
  __syncthreads();
  for (int k = 0; k < K; ++k) {
    float total = 0.0f;
    for (int w = 0; w < Warps; ++w) total += scratch[w][k];
    v[k] = total;
  }
  __syncthreads();  // scratch is free again
}

template <int Warps>
__device__ float block_max(float v, float (*scratch)[8]) {
  for (int offset = 16; offset > 0; offset /= 2)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32][0] = v;
  __syncthreads();
  float m = scratch[0][0];
  for (int w = 1; w < Warps; ++w) m = fmaxf(m, scratch[w][0]);
  __syncthreads();
  return m;
}

// The class whose angle is circularly nearest to `angle`, ties to the lower class (the CPU
// backend's serial scan's answer): each thread scans classes tid, tid + 32 Warps, ... in
// increasing order, then (distance, class) pairs are reduced over the warp and the block,
// the lower class winning equal distances. Every thread receives the answer. A serial scan
// by one thread (fmodf per class, 1000 classes) took tens of microseconds per block.
template <int Warps>
__device__ int nearest_class(float angle, const float* __restrict__ class_angles, int C,
                             float (*scratch)[8]) {
  float best_distance = 10.0f;  // > pi: any class is nearer
  int best = 0;
  for (int c = threadIdx.x; c < C; c += 32 * Warps) {
    float d = fmodf(fabsf(angle - class_angles[c]), kTwoPi);
    d = fminf(d, kTwoPi - d);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  const auto take_if_nearer = [&](float d, int c) {
    if (d < best_distance || (d == best_distance && c < best)) {
      best_distance = d;
      best = c;
    }
  };
  for (int offset = 16; offset > 0; offset /= 2)
    take_if_nearer(__shfl_xor_sync(0xffffffffu, best_distance, offset),
                   __shfl_xor_sync(0xffffffffu, best, offset));
  if (threadIdx.x % 32 == 0) {
    scratch[threadIdx.x / 32][0] = best_distance;
    scratch[threadIdx.x / 32][1] = __int_as_float(best);
  }
  __syncthreads();
  for (int w = 0; w < Warps; ++w) take_if_nearer(scratch[w][0], __float_as_int(scratch[w][1]));
  __syncthreads();  // scratch is free again
  return best;
}

// Position of row or column i of n in [-1, 1] (0 for n = 1).
__device__ __forceinline__ float centred(int i, int n) {
  return (2.0f * i - (n - 1)) / static_cast<float>(n > 1 ? n - 1 : 1);
}

// cos and sin of 2 pi n / N. sincospif reduces its argument exactly, without the slow
// (local-memory, call) path of cosf/sinf for huge arguments that made the kernel spill.
__device__ __forceinline__ void harmonic(int n, int N, float* c, float* s) {
  sincospif(2.0f * static_cast<float>(n) / static_cast<float>(N), s, c);
}

// Table slot of channel n for accesses of V channels (see u1_loss.cu's header comment).
template <int V>
__device__ __forceinline__ int harmonic_slot(int n, int N) {
  if constexpr (V <= 4) {
    return n;
  } else {
    constexpr int P = V / 4;
    return (n % V) / 4 * (N / P) + 4 * (n / V) + n % 4;
  }
}

// Fills the shared cos / sin table of the N harmonics (the caller synchronises after).
template <int V, int Threads>
__device__ void fill_harmonic_table(int N, float* table_cos, float* table_sin) {
  for (int n = threadIdx.x; n < N; n += Threads) {
    float c, sn;
    harmonic(n, N, &c, &sn);
    table_cos[harmonic_slot<V>(n, N)] = c;
    table_sin[harmonic_slot<V>(n, N)] = sn;
  }
}

// cos and sin of 2 pi n / N for the V channels n0 .. n0 + V - 1 (n0 a multiple of V), from
// the shared table when Tabled.
template <int V, bool Tabled>
__device__ __forceinline__ void harmonics(int n0, int N, const float* table_cos,
                                          const float* table_sin, float (&c)[V], float (&s)[V]) {
  if constexpr (!Tabled) {
    for (int e = 0; e < V; ++e) harmonic(n0 + e, N, &c[e], &s[e]);
  } else if constexpr (V == 1) {
    c[0] = table_cos[n0];
    s[0] = table_sin[n0];
  } else {
    for (int p = 0; p < V / 4; ++p) {
      const int slot = harmonic_slot<V>(n0 + 4 * p, N);
      load_four_floats(table_cos + slot, c + 4 * p);
      load_four_floats(table_sin + slot, s + 4 * p);
    }
  }
}

// Pass 1's sums over one access of V elements with harmonics c, sn: energy += A^2;
// moments[3] += A, moments[4..5] += A (cos, sin) (S_A, Q_x, Q_y), element by element.
template <int V>
__device__ __forceinline__ void accumulate_vector(const float (&v)[V], const float (&c)[V],
                                                  const float (&sn)[V], float& energy,
                                                  float (&moments)[6]) {
  for (int e = 0; e < V; ++e) {
    energy = fmaf(v[e], v[e], energy);
    moments[3] += v[e];
    moments[4] = fmaf(v[e], c[e], moments[4]);
    moments[5] = fmaf(v[e], sn[e], moments[5]);
  }
}

template <typename T>
__device__ __forceinline__ bool label_in_range(const U1LossArgsOf<T>& args, int b, int C) {
  const int label = args.labels[b];
  return label >= 0 && label < C;
}

// What a sample with a label outside [0, C) gets: NaN dlogits and sample losses (its
// activation gradient is left alone). This thread writes dlogits first, first + Stride, ...
// (Stride: the threads sharing the sample) and, where `writes_losses`, the sample losses.
template <int Stride, typename T>
__device__ __forceinline__ void write_invalid_sample(int b, const U1LossShape& shape,
                                                     const U1LossArgsOf<T>& args, int first,
                                                     bool writes_losses) {
  const int C = shape.classes;
  float* dlogits = args.dlogits + static_cast<long long>(b) * C;
  for (int j = first; j < C; j += Stride) dlogits[j] = __int_as_float(0x7fc00000);
  if (writes_losses && args.sample_losses) {
    args.sample_losses[2 * b] = __int_as_float(0x7fc00000);
    args.sample_losses[2 * b + 1] = __int_as_float(0x7fc00000);
  }
}

// CE = lse - (1 - s) l_c - (s / C) sum_j l_j: the cross-entropy against
// q_j = (1 - s)[j = c] + s / C in closed form.
__device__ __forceinline__ float cross_entropy_from_totals(float log_sum_exp, float label_logit,
                                                           float sum_logits, float smoothing,
                                                           int C) {
  return log_sum_exp - (1.0f - smoothing) * label_logit - (smoothing / C) * sum_logits;
}

// dlogits = (softmax - q) / B over sample b's row (logits re-read: L1/L2-resident by now),
// this thread's classes first, first + Stride, ... (Stride: the threads sharing the sample).
template <int Stride, typename T>
__device__ __forceinline__ void write_dlogits(int b, int label, float log_sum_exp,
                                              const U1LossShape& shape, const U1LossConfig& config,
                                              const U1LossArgsOf<T>& args, int first) {
  const int C = shape.classes;
  const float* logits = args.logits + static_cast<long long>(b) * C;
  float* dlogits = args.dlogits + static_cast<long long>(b) * C;
  const float s = config.label_smoothing;
  const float inv_batch = 1.0f / static_cast<float>(shape.batch);
  for (int j = first; j < C; j += Stride) {
    const float q = (j == label ? 1.0f - s : 0.0f) + s / C;
    dlogits[j] = (expf(logits[j] - log_sum_exp) - q) * inv_batch;
  }
}

// Softmax cross-entropy of sample b with label smoothing s: block max, then block sums of
// exp(l - max) and of l; CE in closed form (cross_entropy_from_totals) and dlogits in a
// third sweep over the row. Returns false, with NaN dlogits and sample losses, for a label
// outside [0, C) (uniform across the block: every thread gets the same answer).
template <int Warps, typename T>
__device__ __forceinline__ bool cross_entropy(int b, const U1LossShape& shape,
                                              const U1LossConfig& config,
                                              const U1LossArgsOf<T>& args, float (*scratch)[8],
                                              float& ce) {
  const int C = shape.classes;
  const float* logits = args.logits + static_cast<long long>(b) * C;
  if (!label_in_range(args, b, C)) {
    write_invalid_sample<32 * Warps>(b, shape, args, threadIdx.x, threadIdx.x == 0);
    return false;
  }
  const int label = args.labels[b];
  float local_max = -FLT_MAX;
  for (int j = threadIdx.x; j < C; j += 32 * Warps) local_max = fmaxf(local_max, logits[j]);
  const float max_logit = block_max<Warps>(local_max, scratch);
  float sums[2] = {0.0f, 0.0f};  // sum exp(l - max), sum l
  for (int j = threadIdx.x; j < C; j += 32 * Warps) {
    sums[0] += expf(logits[j] - max_logit);
    sums[1] += logits[j];
  }
  block_sum<Warps>(sums, scratch);
  const float log_sum_exp = max_logit + logf(sums[0]);
  ce = cross_entropy_from_totals(log_sum_exp, logits[label], sums[1], config.label_smoothing, C);
  write_dlogits<32 * Warps>(b, label, log_sum_exp, shape, config, args, threadIdx.x);
  return true;
}

// A running softmax denominator: max m of the values seen and s = sum exp(l - m) over them
// (the online softmax), so that one block reduction can carry it beside other sums. Two
// partials merge to the max of their maxima, each sum rescaled to it. An empty partial
// (m = -FLT_MAX, s = 0) merges as nothing.
struct SoftmaxPartial {
  float max = -FLT_MAX, sum = 0.0f;

  __device__ __forceinline__ void add(float l) {
    if (l > max) {
      sum = fmaf(sum, expf(max - l), 1.0f);
      max = l;
    } else {
      sum += expf(l - max);
    }
  }
  __device__ __forceinline__ void merge(float other_max, float other_sum) {
    const float m = fmaxf(max, other_max);
    sum = sum * expf(max - m) + other_sum * expf(other_max - m);
    max = m;
  }
  __device__ __forceinline__ float log_sum_exp() const { return max + logf(sum); }
};

// The U(1) gradient of one sample, dA(h, w, n) += image_term(p) A + feature_term(n), from
// its totals (docs/u1.md): image_term = k (<u, z_img> - <u, p> / sqrt 2) with
// k = 2 lambda/B image_share / S_E and p = (x, y up) in [-1, 1]^2 the site's position;
// feature_term = -lambda/B feature_share / S_A (<u, e_n> - <u, z_feat>). Both are affine in
// their arguments; the coefficients are folded once per sample, so each costs two FMAs.
struct U1Gradient {
  float image_0 = 0.0f, image_x = 0.0f, image_y = 0.0f;
  float feature_0 = 0.0f, feature_cos = 0.0f, feature_sin = 0.0f;

  __device__ __forceinline__ float image_term(float p_x, float p_y) const {
    return fmaf(image_x, p_x, fmaf(image_y, p_y, image_0));
  }
  __device__ __forceinline__ float feature_term(float cos_n, float sin_n) const {
    return fmaf(feature_cos, cos_n, fmaf(feature_sin, sin_n, feature_0));
  }
};

// From the block-summed moments of sample b (S_E, P_x, P_y, S_A, Q_x, Q_y: sum E, sum E p,
// sum A, sum A e_n), its cross-entropy and its class angle theta: writes its two losses, z
// and the angle readout where asked for (thread 0, in the block that `writes_outputs`), and
// returns its gradient terms. Every thread of the block calls it.
template <int Warps, typename T>
__device__ __forceinline__ U1Gradient finish_u1(int b, const float (&moments)[6], float ce,
                                                float theta, const U1LossShape& shape,
                                                const U1LossConfig& config,
                                                const U1LossArgsOf<T>& args, float (*scratch)[8],
                                                bool writes_outputs = true) {
  const int H = shape.height, W = shape.width, N = shape.channels;
  const float image = image_share(config.space), feature = feature_share(config.space);
  const float s_e = moments[0] + config.eps * H * W;
  const float s_a = moments[3] + config.eps * H * W * N;
  const float img_x = moments[1] * kInvSqrt2 / s_e, img_y = moments[2] * kInvSqrt2 / s_e;
  const float feat_x = moments[4] / s_a, feat_y = moments[5] / s_a;
  const float z_x = image * img_x + feature * feat_x;
  const float z_y = image * img_y + feature * feat_y;
  float u_x, u_y;
  sincospif(theta * kInvPi, &u_y, &u_x);  // cos, sin of theta without cosf's slow path
  const bool writer = writes_outputs && threadIdx.x == 0;
  if (writer) {
    if (args.sample_losses) {
      args.sample_losses[2 * b] = ce;
      args.sample_losses[2 * b + 1] = 1.0f - (z_x * u_x + z_y * u_y);
    }
    if (args.z) {
      args.z[2 * b] = z_x;
      args.z[2 * b + 1] = z_y;
    }
  }
  if (args.angle_prediction) {  // uniform over the block; z is the same in every thread
    const int best =
        nearest_class<Warps>(atan2f(z_y, z_x), args.class_angles, shape.classes, scratch);
    if (writer) args.angle_prediction[b] = best;
  }
  const float scale = config.weight / static_cast<float>(shape.batch);
  const float image_k = 2.0f * scale * image / s_e;
  const float feature_k = -scale * feature / s_a;
  U1Gradient g;
  g.image_0 = image_k * (u_x * img_x + u_y * img_y);
  g.image_x = -image_k * kInvSqrt2 * u_x;
  g.image_y = -image_k * kInvSqrt2 * u_y;
  g.feature_0 = -feature_k * (u_x * feat_x + u_y * feat_y);
  g.feature_cos = feature_k * u_x;
  g.feature_sin = feature_k * u_y;
  return g;
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC::u1_device
