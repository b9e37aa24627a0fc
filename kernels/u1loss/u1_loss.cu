// The fused one-hot + U(1) loss, forward and backward in one launch (docs/u1.md).
//
// Parallelisation: one block per sample; two kernels (U1LossKernel in u1_loss.h) that differ
// only in where the second pass finds the activation.
//   1. Logits row (C values): block max, then block sums of exp(l - max) and of l; the
//      cross-entropy follows in closed form, CE = lse - (1 - s) l_c - (s / C) sum_j l_j, and
//      dlogits = (softmax - q) / B is written in a third sweep over the (L1/L2-resident) row.
//   2. U(1), when lambda > 0 or the readout is asked for. The activation A (H*W sites of N
//      channels, NHWC) is swept twice, because the gradient of every element depends on
//      totals over the whole sample (S_E, S_A and the moments):
//      pass 1, one warp per site, lanes over channels: E(h,w) by a warp sum; each lane also
//        accumulates sum A and sum A e_n with e_n from a shared table of cos/sin(2 pi n / N);
//        a block sum of six values gives S_E, P = sum E p, S_A and Q = sum A e_n.
//      pass 2 (lambda > 0 only), same mapping: dA += lambda/B (img * 2 A g_E(h,w) + feat * g_n)
//        read-modify-write, with g_n = -(<u, e_n> - <u, z_feat>) / S_A.
//   The angle readout, when asked for, is a block-wide argmin over the classes
//   (nearest_class), between the passes.
// Where pass 2 reads A:
//   streaming (256 threads): from global memory again. It hits L2 only while the sample is
//     still there; at ResNet-50's size every block is resident at once and the batch's A
//     (51 MB bf16) does not fit the 50 MB L2, so DRAM sees A up to twice.
//   resident (512 threads): pass 1 copies each loaded vector, bit for bit, into dynamic
//     shared memory (u1_loss_layout.h: scratch, table, then the sample's A) and pass 2 reads
//     it from there: DRAM sees A once, dA read and written once, the floor of the fused
//     loss. 7x7x2048 bf16 takes 213 KB, one block per SM (227 KB on sm_90); 16 warps with 8
//     loads in flight per lane (pass 1: A, pass 2: dA) keep 64 KB per SM moving. Each lane
//     reads back only what it wrote itself (same site and channel mapping in both passes).
// Two paths for A and dA, chosen on the host once per launch (rows_split_into_16_byte_vectors):
// when N is a multiple of the 16-byte vector width V (4 f32, 8 bf16) and A and dA are 16-byte
// aligned, lane l of a warp moves channels [V l, V l + V), [V (l + 32), ...), ... as one
// 128-bit load (and store, dA) each, unpacked to f32: a warp moves 512 bytes per access.
// Otherwise (N = 3, odd N, an offset view) V = 1: lane l reads channels l, l + 32, ...
// Both passes unroll their row loop (4 streaming, 8 resident), with the table-or-compute
// choice of the harmonics hoisted out of it (a template argument), so a lane has that many
// loads of A (pass 2: of dA, and of A when streaming) in flight.
// The harmonic table is laid out so that both paths read it without bank conflicts: the scalar
// path reads consecutive words across lanes; on the vector path channel V v + 4 p + j sits at
// slot p (N / P) + 4 v + j (P = V / 4 float4 parts; the identity for f32), so a lane reads
// its V harmonics as P float4 and each quarter-warp phase of a 128-bit shared load covers 128
// contiguous bytes. The resident copy of A is written and read 512 contiguous bytes per warp
// access: no conflicts either.
// Floors per sample: reads C logits + H W N activations (streaming: up to twice), reads and
// writes H W N gradients (lambda > 0), writes C dlogits; a few flops per byte: memory-bound.
// Precision: A and dA f32 or bf16; all arithmetic and accumulation in f32, each lane summing
// its channels in increasing order, then warp and block sums in a fixed order
// (deterministic; the vector and scalar paths give each lane different channels and the two
// kernels different warps per block, so they may differ by f32 rounding). Harmonics
// cos/sin(2 pi n / N) = sincospif(2 n / N) and u = sincospif(theta / pi): exact argument
// reduction, no slow path for huge arguments (which cosf/sinf carry, and which made the
// kernel spill). Shared memory, streaming: 32 KB table (N <= 4096; larger N computes the
// harmonic per element) + 8 x 8 floats of reduction scratch; resident: u1_loss_layout.h.
// Registers: see the note at the launch functions.
#include <cfloat>
#include <cstring>

#include "kernels/common/numeric.cuh"
#include "kernels/common/vector16.cuh"
#include "kernels/u1loss/u1_loss.h"
#include "kernels/u1loss/u1_loss_layout.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels::SOMBRERO_EXEC {

namespace {

using u1_layout::kResidentThreads;
using u1_layout::kStreamingThreads;
using u1_layout::kTableChannels;
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

__device__ float centred(int i, int n) {
  return (2.0f * i - (n - 1)) / static_cast<float>(n > 1 ? n - 1 : 1);
}

// cos and sin of 2 pi n / N. sincospif reduces its argument exactly, without the slow
// (local-memory, call) path of cosf/sinf for huge arguments that made the kernel spill.
__device__ __forceinline__ void harmonic(int n, int N, float* c, float* s) {
  sincospif(2.0f * static_cast<float>(n) / static_cast<float>(N), s, c);
}

// Table slot of channel n for accesses of V channels (see the header comment).
template <int V>
__device__ __forceinline__ int harmonic_slot(int n, int N) {
  if constexpr (V <= 4) {
    return n;
  } else {
    constexpr int P = V / 4;
    return (n % V) / 4 * (N / P) + 4 * (n / V) + n % 4;
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

// Pass 1 over one site's row of N channels, this lane's share (channels [V lane, V lane + V),
// then 32 V further on, ...), in channel order: energy += A^2; moments[3] += A,
// moments[4..5] += A (cos, sin); with Copy, each loaded vector is also stored to copy_row.
// Tabled is uniform over the block, so the loop has no branch and its Unroll 16-byte loads
// can be issued ahead.
template <typename T, int V, bool Tabled, bool Copy, int Unroll>
__device__ __forceinline__ void accumulate_row(const T* __restrict__ row, T* copy_row, int N,
                                               int lane, const float* table_cos,
                                               const float* table_sin, float& energy,
                                               float (&moments)[6]) {
#pragma unroll(Unroll)
  for (int n0 = lane * V; n0 < N; n0 += 32 * V) {
    float v[V], c[V], sn[V];
    if constexpr (Copy)
      load_readonly_as_f32_and_copy<V>(row + n0, copy_row + n0, v);
    else
      load_readonly_as_f32<V>(row + n0, v);
    harmonics<V, Tabled>(n0, N, table_cos, table_sin, c, sn);
    for (int e = 0; e < V; ++e) {
      energy = fmaf(v[e], v[e], energy);
      moments[3] += v[e];
      moments[4] = fmaf(v[e], c[e], moments[4]);
      moments[5] = fmaf(v[e], sn[e], moments[5]);
    }
  }
}

// The feature-space part of the gradient, g_n = scale (<u, e_n> - <u, z_feat>).
struct FeatureGradient {
  float scale, u_x, u_y, u_dot_feat;
};

// Pass 2 over one site's row, this lane's share: dA += image_term A + feature g_n, with A
// from shared memory when Shared (the resident copy), else from global memory.
template <typename T, int V, bool Tabled, bool Shared, int Unroll>
__device__ __forceinline__ void update_row(const T* __restrict__ a, T* __restrict__ da, int N,
                                           int lane, const float* table_cos, const float* table_sin,
                                           float image_term, const FeatureGradient& feature) {
#pragma unroll(Unroll)
  for (int n0 = lane * V; n0 < N; n0 += 32 * V) {
    float v[V], d[V], c[V], sn[V];
    if constexpr (Shared)
      load_as_f32<V>(a + n0, v);
    else
      load_readonly_as_f32<V>(a + n0, v);
    load_as_f32<V>(da + n0, d);
    harmonics<V, Tabled>(n0, N, table_cos, table_sin, c, sn);
    for (int e = 0; e < V; ++e) {
      const float g =
          image_term * v[e] +
          feature.scale * ((feature.u_x * c[e] + feature.u_y * sn[e]) - feature.u_dot_feat);
      d[e] = d[e] + g;
    }
    store_from_f32<V>(da + n0, d);
  }
}

// V: activation elements per access, 1 or kVector16<T>. Resident: keep the sample's A in
// (dynamic) shared memory for pass 2, else read it from global memory again.
template <typename T, int V, bool Resident>
__global__ void __launch_bounds__(Resident ? kResidentThreads : kStreamingThreads, Resident ? 1 : 0)
    u1_loss_kernel(U1LossShape shape, U1LossConfig config, U1LossArgsOf<T> args, bool u1_active) {
  constexpr int Warps = (Resident ? kResidentThreads : kStreamingThreads) / 32;
  constexpr int Unroll = Resident ? 8 : 4;
  float(*scratch)[8];
  float *harmonic_cos, *harmonic_sin;
  T* resident = nullptr;  // the sample's A, when Resident
  if constexpr (Resident) {
    SOMBRERO_DYNAMIC_SHARED(float, shared);
    static_assert(u1_layout::kResidentScratchBytes == Warps * 8 * sizeof(float));
    scratch = reinterpret_cast<float(*)[8]>(shared);
    harmonic_cos = shared + u1_layout::kResidentScratchBytes / sizeof(float);
    harmonic_sin = harmonic_cos + shape.channels;
    resident = reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(shared) +
                                    u1_layout::kResidentScratchBytes +
                                    u1_layout::table_bytes(shape.channels));
  } else {
    __shared__ float static_scratch[Warps][8];
    __shared__ __align__(16) float table_cos[kTableChannels];
    __shared__ __align__(16) float table_sin[kTableChannels];
    scratch = static_scratch;
    harmonic_cos = table_cos;
    harmonic_sin = table_sin;
  }

  const int b = blockIdx.x;
  const int C = shape.classes;
  const int label = args.labels[b];
  const float inv_batch = 1.0f / static_cast<float>(shape.batch);
  const float* logits = args.logits + static_cast<long long>(b) * C;
  float* dlogits = args.dlogits + static_cast<long long>(b) * C;
  if (label < 0 || label >= C) {  // uniform across the block: every thread returns
    for (int j = threadIdx.x; j < C; j += 32 * Warps) dlogits[j] = __int_as_float(0x7fc00000);
    if (threadIdx.x == 0 && args.sample_losses) {
      args.sample_losses[2 * b] = __int_as_float(0x7fc00000);
      args.sample_losses[2 * b + 1] = __int_as_float(0x7fc00000);
    }
    return;
  }

  // 1. Softmax cross-entropy with label smoothing s: q_j = (1 - s)[j = c] + s / C.
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
  const float s = config.label_smoothing;
  const float ce = log_sum_exp - (1.0f - s) * logits[label] - (s / C) * sums[1];
  for (int j = threadIdx.x; j < C; j += 32 * Warps) {
    const float q = (j == label ? 1.0f - s : 0.0f) + s / C;
    dlogits[j] = (expf(logits[j] - log_sum_exp) - q) * inv_batch;
  }
  if (!u1_active) {
    if (threadIdx.x == 0 && args.sample_losses) {
      args.sample_losses[2 * b] = ce;
      args.sample_losses[2 * b + 1] = 0.0f;
    }
    return;
  }

  // 2. U(1): the harmonic table, then pass 1 over the sample's activation.
  const int H = shape.height, W = shape.width, N = shape.channels;
  const bool use_table = N <= kTableChannels;
  if (use_table) {
    for (int n = threadIdx.x; n < N; n += 32 * Warps) {
      float c, sn;
      harmonic(n, N, &c, &sn);
      harmonic_cos[harmonic_slot<V>(n, N)] = c;
      harmonic_sin[harmonic_slot<V>(n, N)] = sn;
    }
  }
  __syncthreads();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const long long sample_offset = static_cast<long long>(b) * H * W * N;
  const T* __restrict__ A = args.activation + sample_offset;
  // moments: S_E, P_x, P_y (lane 0 of each warp), S_A, Q_x, Q_y (every lane)
  float moments[6] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  for (int site = warp; site < H * W; site += Warps) {
    const long long base = static_cast<long long>(site) * N;
    T* copy = Resident ? resident + base : nullptr;
    float energy = 0.0f;
    if (use_table)
      accumulate_row<T, V, true, Resident, Unroll>(A + base, copy, N, lane, harmonic_cos,
                                                   harmonic_sin, energy, moments);
    else
      accumulate_row<T, V, false, Resident, Unroll>(A + base, copy, N, lane, harmonic_cos,
                                                    harmonic_sin, energy, moments);
    energy = warp_sum(energy);
    if (lane == 0) {
      moments[0] += energy;
      moments[1] = fmaf(energy, centred(site % W, W), moments[1]);
      moments[2] = fmaf(energy, -centred(site / W, H), moments[2]);  // y points up
    }
  }
  block_sum<Warps>(moments, scratch);

  const float image_share = config.space == U1Space::feature ? 0.0f
                            : config.space == U1Space::joint ? 0.5f
                                                             : 1.0f;
  const float feature_share = config.space == U1Space::image   ? 0.0f
                              : config.space == U1Space::joint ? 0.5f
                                                               : 1.0f;
  const float s_e = moments[0] + config.eps * H * W;
  const float s_a = moments[3] + config.eps * H * W * N;
  const float img_x = moments[1] * kInvSqrt2 / s_e, img_y = moments[2] * kInvSqrt2 / s_e;
  const float feat_x = moments[4] / s_a, feat_y = moments[5] / s_a;
  const float z_x = image_share * img_x + feature_share * feat_x;
  const float z_y = image_share * img_y + feature_share * feat_y;
  const float theta = args.class_angles[label];
  float u_x, u_y;
  sincospif(theta * kInvPi, &u_y, &u_x);  // cos, sin of theta without cosf's slow path
  if (threadIdx.x == 0) {
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
    const int best = nearest_class<Warps>(atan2f(z_y, z_x), args.class_angles, C, scratch);
    if (threadIdx.x == 0) args.angle_prediction[b] = best;
  }
  if (config.weight <= 0.0f) return;

  // Pass 2: dA += lambda/B * (image_share * 2 A g_E(h,w) + feature_share * g_n).
  const float scale = config.weight * inv_batch;
  const float u_dot_img = u_x * img_x + u_y * img_y;
  const float u_dot_feat = u_x * feat_x + u_y * feat_y;
  T* __restrict__ dA = args.dactivation + sample_offset;
  const FeatureGradient feature{-scale * feature_share / s_a, u_x, u_y, u_dot_feat};
  for (int site = warp; site < H * W; site += Warps) {
    const float u_dot_p = u_x * centred(site % W, W) - u_y * centred(site / W, H);
    const float image_term =
        scale * image_share * 2.0f * (-(u_dot_p * kInvSqrt2 - u_dot_img) / s_e);
    const long long base = static_cast<long long>(site) * N;
    const T* a = Resident ? resident + base : A + base;
    if (use_table)
      update_row<T, V, true, Resident, Unroll>(a, dA + base, N, lane, harmonic_cos, harmonic_sin,
                                               image_term, feature);
    else
      update_row<T, V, false, Resident, Unroll>(a, dA + base, N, lane, harmonic_cos, harmonic_sin,
                                                image_term, feature);
  }
}

// Registers (ptxas -v, sm_90a, CUDA 12): streaming 54 to 79 per thread over its four
// instantiations (launch bounds 256, no minimum), resident 79 to 124 (512 threads, one block
// per SM, which its shared memory allows anyway at ResNet-50's size); no spills.
// One instantiation: the resident kernel first allowed the device's whole shared memory
// (once per instantiation and process), then launched with the bytes this shape needs.
template <typename T, int V, bool Resident>
void launch_kernel(const U1LossShape& shape, const U1LossConfig& config,
                   const U1LossArgsOf<T>& args, bool u1_active, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(shape.batch));
  if constexpr (Resident) {
    static const bool allowed = runtime::allow_dynamic_shared_memory(
        u1_loss_kernel<T, V, true>, runtime::max_shared_memory_per_block());
    (void)allowed;
    SOMBRERO_LAUNCH((u1_loss_kernel<T, V, true>), grid, dim3(kResidentThreads),
                    u1_loss_resident_shared_bytes(shape, sizeof(T)), stream, shape, config, args,
                    u1_active);
  } else {
    SOMBRERO_LAUNCH((u1_loss_kernel<T, V, false>), grid, dim3(kStreamingThreads), 0, stream, shape,
                    config, args, u1_active);
  }
}

template <typename T, bool Resident>
void launch_path(const U1LossShape& shape, const U1LossConfig& config, const U1LossArgsOf<T>& args,
                 bool u1_active, cudaStream_t stream) {
  if (rows_split_into_16_byte_vectors(shape.channels, sizeof(T),
                                      {args.activation, args.dactivation}))
    launch_kernel<T, kVector16<T>, Resident>(shape, config, args, u1_active, stream);
  else
    launch_kernel<T, 1, Resident>(shape, config, args, u1_active, stream);
}

template <typename Activation, typename DeviceActivation>
void launch(const U1LossShape& shape, const U1LossConfig& config,
            const U1LossArgsOf<Activation>& args, cudaStream_t stream, U1LossKernel requested) {
  SOMBRERO_CHECK(shape.batch > 0 && shape.classes > 0, "u1 loss: batch (", shape.batch,
                 ") and classes (", shape.classes, ") must be positive");
  SOMBRERO_CHECK(args.logits && args.labels && args.dlogits && args.sample_losses,
                 "u1 loss kernel: logits, labels, dlogits and sample_losses are required");
  const bool u1_active = config.weight > 0.0f || args.z || args.angle_prediction;
  if (u1_active)
    SOMBRERO_CHECK(args.activation && args.class_angles && shape.height > 0 && shape.width > 0 &&
                       shape.channels > 0 && (config.weight <= 0.0f || args.dactivation),
                   "u1 loss kernel: activation ", shape.height, "x", shape.width, "x",
                   shape.channels,
                   ", class angles and (for u1.weight > 0) dactivation are "
                   "required");
  // Without a gradient pass (lambda = 0) nothing re-reads A: `automatic` streams then, and
  // without U(1) work at all the kernels never touch A, so either will do.
  U1LossKernel kernel = U1LossKernel::streaming;
  if (u1_active && (config.weight > 0.0f || requested == U1LossKernel::resident))
    kernel = resolve_u1_loss_kernel(requested, shape, sizeof(Activation),
                                    runtime::max_shared_memory_per_block());
  U1LossArgsOf<DeviceActivation> device_args;
  device_args.logits = args.logits;
  device_args.labels = args.labels;
  device_args.activation = reinterpret_cast<const DeviceActivation*>(args.activation);
  device_args.class_angles = args.class_angles;
  device_args.dlogits = args.dlogits;
  device_args.dactivation = reinterpret_cast<DeviceActivation*>(args.dactivation);
  device_args.z = args.z;
  device_args.angle_prediction = args.angle_prediction;
  device_args.sample_losses = args.sample_losses;
  if (kernel == U1LossKernel::resident)
    launch_path<DeviceActivation, true>(shape, config, device_args, u1_active, stream);
  else
    launch_path<DeviceActivation, false>(shape, config, device_args, u1_active, stream);
}

}  // namespace

void u1_loss_forward_backward(const U1LossShape& shape, const U1LossConfig& config,
                              const U1LossArgsOf<float>& args, cudaStream_t stream,
                              U1LossKernel kernel) {
  launch<float, float>(shape, config, args, stream, kernel);
}

void u1_loss_forward_backward(const U1LossShape& shape, const U1LossConfig& config,
                              const U1LossArgsOf<bf16>& args, cudaStream_t stream,
                              U1LossKernel kernel) {
  launch<bf16, __nv_bfloat16>(shape, config, args, stream, kernel);
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC
