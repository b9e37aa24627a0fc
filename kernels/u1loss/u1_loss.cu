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
//   streaming (this file, 256 threads, one block per sample): from global memory again. It
//     hits L2 only while the sample is still there; at ResNet-50's size every block is
//     resident at once and the batch's A (51 MB bf16) does not fit the 50 MB L2, so DRAM
//     sees A up to twice.
//   resident (u1_loss_resident.cuh, 512 threads, persistent): from shared memory, where
//     pass 1 copied it; DRAM sees A once, dA read and written once, the floor of the fused
//     loss. Its own comment has its mapping (flattened, not per site) and pipelining.
//     resident_pair: the same kernel with a pair of blocks per sample, a 2-block cluster
//     (sm_90), each holding half of A, for samples one block's shared memory cannot hold
//     (7x7x2048 f32).
// The pieces both share (cross-entropy, block sums, readout, totals -> outputs):
// u1_loss_device.cuh. Two paths for A and dA, chosen on the host once per launch
// (rows_split_into_16_byte_vectors): when N is a multiple of the 16-byte vector width V (4 f32, 8
// bf16) and A and dA are 16-byte aligned, lane l of a warp moves channels [V l, V l + V), [V (l +
// 32), ...), ... as one 128-bit load (and store, dA) each, unpacked to f32: a warp moves 512 bytes
// per access. Otherwise (N = 3, odd N, an offset view) V = 1: lane l reads channels l, l + 32, ...
// The streaming kernel's passes unroll their row loop (4; 3 for 16-byte bf16 rows), with the
// table-or-compute choice of the harmonics hoisted out of it (a template argument), so a
// lane has that many loads of A (pass 2: of dA and of A) in flight.
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
#include <algorithm>
#include <cfloat>

#include "kernels/common/numeric.cuh"
#include "kernels/common/vector16.cuh"
#include "kernels/u1loss/u1_loss.h"
#include "kernels/u1loss/u1_loss_device.cuh"
#include "kernels/u1loss/u1_loss_layout.h"
#include "kernels/u1loss/u1_loss_resident.cuh"
#include "runtime/kernel_api.h"

namespace sombrero::kernels::SOMBRERO_EXEC {

namespace {

using u1_layout::kResidentThreads;
using u1_layout::kStreamingThreads;
using u1_layout::kTableChannels;
using namespace u1_device;

// Pass 1 over one site's row of N channels, this lane's share (channels [V lane, V lane + V),
// then 32 V further on, ...), in channel order: energy += A^2; moments[3] += A,
// moments[4..5] += A (cos, sin). Tabled is uniform over the block, so the loop has no branch
// and its Unroll 16-byte loads can be issued ahead.
template <typename T, int V, bool Tabled, int Unroll>
__device__ __forceinline__ void accumulate_row(const T* __restrict__ row, int N, int lane,
                                               const float* table_cos, const float* table_sin,
                                               float& energy, float (&moments)[6]) {
#pragma unroll(Unroll)
  for (int n0 = lane * V; n0 < N; n0 += 32 * V) {
    float v[V], c[V], sn[V];
    load_readonly_as_f32<V>(row + n0, v);
    harmonics<V, Tabled>(n0, N, table_cos, table_sin, c, sn);
    accumulate_vector<V>(v, c, sn, energy, moments);
  }
}

// Pass 2 over one site's row, this lane's share: dA += image_term A + feature_term(n), A
// read from global memory again.
template <typename T, int V, bool Tabled, int Unroll>
__device__ __forceinline__ void update_row(const T* __restrict__ a, T* __restrict__ da, int N,
                                           int lane, const float* table_cos, const float* table_sin,
                                           float image_term, const U1Gradient& gradient) {
#pragma unroll(Unroll)
  for (int n0 = lane * V; n0 < N; n0 += 32 * V) {
    float v[V], d[V], c[V], sn[V];
    load_readonly_as_f32<V>(a + n0, v);
    load_as_f32<V>(da + n0, d);
    harmonics<V, Tabled>(n0, N, table_cos, table_sin, c, sn);
    for (int e = 0; e < V; ++e)
      d[e] = d[e] + (image_term * v[e] + gradient.feature_term(c[e], sn[e]));
    store_from_f32<V>(da + n0, d);
  }
}

// V: activation elements per access, 1 or kVector16<T>.
template <typename T, int V>
__global__ void __launch_bounds__(kStreamingThreads, 3)
    u1_loss_streaming_kernel(U1LossShape shape, U1LossConfig config, U1LossArgsOf<T> args,
                             bool u1_active) {
  // 3 blocks of 256 per SM (<= 85 registers); 16-byte bf16 rows unroll 3, not 4, to stay
  // there without spilling.
  constexpr int Warps = kStreamingThreads / 32, Unroll = V == 8 ? 3 : 4;
  __shared__ float scratch[Warps][8];
  __shared__ __align__(16) float table_cos[kTableChannels];
  __shared__ __align__(16) float table_sin[kTableChannels];
  const int b = blockIdx.x;
  float ce = 0.0f;
  if (!cross_entropy<Warps>(b, shape, config, args, scratch, ce)) return;
  if (!u1_active) {
    if (threadIdx.x == 0 && args.sample_losses) {
      args.sample_losses[2 * b] = ce;
      args.sample_losses[2 * b + 1] = 0.0f;
    }
    return;
  }

  // U(1): the harmonic table, then pass 1 over the sample's activation, one warp per site.
  const int H = shape.height, W = shape.width, N = shape.channels;
  const bool use_table = N <= kTableChannels;
  if (use_table) fill_harmonic_table<V, kStreamingThreads>(N, table_cos, table_sin);
  __syncthreads();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const long long sample_offset = static_cast<long long>(b) * H * W * N;
  const T* __restrict__ A = args.activation + sample_offset;
  // moments: S_E, P_x, P_y (lane 0 of each warp), S_A, Q_x, Q_y (every lane)
  float moments[6] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  for (int site = warp; site < H * W; site += Warps) {
    const long long base = static_cast<long long>(site) * N;
    float energy = 0.0f;
    if (use_table)
      accumulate_row<T, V, true, Unroll>(A + base, N, lane, table_cos, table_sin, energy, moments);
    else
      accumulate_row<T, V, false, Unroll>(A + base, N, lane, table_cos, table_sin, energy, moments);
    energy = warp_sum(energy);
    if (lane == 0) {
      moments[0] += energy;
      moments[1] = fmaf(energy, centred(site % W, W), moments[1]);
      moments[2] = fmaf(energy, -centred(site / W, H), moments[2]);  // y points up
    }
  }
  block_sum<Warps>(moments, scratch);
  const float theta = args.class_angles[args.labels[b]];
  const U1Gradient gradient = finish_u1<Warps>(b, moments, ce, theta, shape, config, args, scratch);
  if (config.weight <= 0.0f) return;

  // Pass 2: dA += lambda/B * (image_share * 2 A g_E(h,w) + feature_share * g_n).
  T* __restrict__ dA = args.dactivation + sample_offset;
  for (int site = warp; site < H * W; site += Warps) {
    const float image_term = gradient.image_term(centred(site % W, W), -centred(site / W, H));
    const long long base = static_cast<long long>(site) * N;
    if (use_table)
      update_row<T, V, true, Unroll>(A + base, dA + base, N, lane, table_cos, table_sin, image_term,
                                     gradient);
    else
      update_row<T, V, false, Unroll>(A + base, dA + base, N, lane, table_cos, table_sin,
                                      image_term, gradient);
  }
}

// Registers (ptxas -v, sm_90a, CUDA 13): streaming 59 to 80 over its four instantiations,
// resident 80 (scalar rows) to 128 (16-byte vectors); no spills in any.
// The streaming kernel: one block per sample.
template <typename T, int V>
void launch_streaming(const U1LossShape& shape, const U1LossConfig& config,
                      const U1LossArgsOf<T>& args, bool u1_active, cudaStream_t stream) {
  SOMBRERO_LAUNCH((u1_loss_streaming_kernel<T, V>), dim3(static_cast<unsigned>(shape.batch)),
                  dim3(kStreamingThreads), 0, stream, shape, config, args, u1_active);
}

// How the resident kernel feeds its slots (u1_device::ResidentFeed): by bulk copies where
// asked for (bulk_next_samples implies the first sweep too), where the device has them (sm_90:
// the devices that launch clusters), and with a share of at most kResidentLandedRows rows of
// 512 vectors (always within 227 KB of shared memory; checked rather than assumed); else by
// the threads' loads. The caller is on the 16-byte vector path.
inline ResidentFeed resident_feed(const U1ResidentTuning& tuning, int vectors, int blocks) {
  const int share = (vectors + blocks - 1) / blocks;
  if (!(tuning.bulk_first_sweep || tuning.bulk_next_samples) ||
      u1_layout::resident_rows(share) > u1_layout::kResidentLandedRows ||
      !runtime::cluster_launch_supported())
    return ResidentFeed::loads;
  return tuning.bulk_next_samples ? ResidentFeed::bulk_every : ResidentFeed::bulk_first;
}

// The resident kernel, Blocks (1, or a pair in clusters of 2) per sample: first allows the
// device's whole shared memory (once per instantiation and process), then launches as many
// blocks (pairs) as fit on the device at once with the bytes this shape needs (persistent:
// each loops over samples).
template <typename T, int V, int Blocks, ResidentFeed Feed>
void launch_resident(const U1LossShape& shape, const U1LossConfig& config,
                     const U1LossArgsOf<T>& args, const U1ResidentTuning& tuning,
                     cudaStream_t stream) {
  const auto kernel = u1_loss_resident_kernel<T, V, Blocks, Feed>;
  static const bool allowed =
      runtime::allow_dynamic_shared_memory(kernel, runtime::max_shared_memory_per_block());
  (void)allowed;
  const std::size_t shared_bytes = u1_loss_resident_shared_bytes(shape, sizeof(T), Blocks);
  const int in_flight = std::min(
      shape.batch,
      Blocks == 1 ? runtime::concurrent_blocks(kernel, kResidentThreads, shared_bytes)
                  : runtime::concurrent_clusters(kernel, kResidentThreads, Blocks, shared_bytes));
  const int vectors_per_row = shape.channels / V;
  const int vectors = shape.height * shape.width * vectors_per_row;
  // centred(i, n) = 2 i / (n - 1) - 1, 0 for n = 1 (u1_loss_device.cuh).
  const auto scale = [](int n) { return n > 1 ? 2.0f / static_cast<float>(n - 1) : 0.0f; };
  const auto offset = [](int n) { return n > 1 ? -1.0f : 0.0f; };
  const ResidentGeometry geometry{FastDivmod(vectors_per_row),
                                  FastDivmod(shape.width),
                                  vectors,
                                  (vectors + Blocks - 1) / Blocks,
                                  kResidentThreads / vectors_per_row,
                                  kResidentThreads % vectors_per_row,
                                  scale(shape.width),
                                  offset(shape.width),
                                  -scale(shape.height),
                                  -offset(shape.height),
                                  (std::max(tuning.head_prefetch_bytes, 0) + 127) / 128,
                                  tuning.sweep_prefetch};
  const dim3 grid(static_cast<unsigned>(in_flight * Blocks)), block(kResidentThreads);
  if constexpr (Blocks == 1)
    SOMBRERO_LAUNCH((u1_loss_resident_kernel<T, V, Blocks, Feed>), grid, block, shared_bytes,
                    stream, shape, config, args, geometry);
  else
    SOMBRERO_LAUNCH_CLUSTERED((u1_loss_resident_kernel<T, V, Blocks, Feed>), grid, block,
                              dim3(Blocks), shared_bytes, stream, shape, config, args, geometry);
}

// The resident kernel fed by bulk copies where asked for and possible (16-byte vectors;
// resident_feed), else by the threads' loads.
template <typename T, int V, int Blocks>
void launch_resident(const U1LossShape& shape, const U1LossConfig& config,
                     const U1LossArgsOf<T>& args, const U1ResidentTuning& tuning,
                     cudaStream_t stream) {
  if constexpr (V * sizeof(T) == 16) {
    const int vectors = shape.height * shape.width * (shape.channels / V);
    switch (resident_feed(tuning, vectors, Blocks)) {
      case ResidentFeed::bulk_first:
        return launch_resident<T, V, Blocks, ResidentFeed::bulk_first>(shape, config, args, tuning,
                                                                       stream);
      case ResidentFeed::bulk_every:
        return launch_resident<T, V, Blocks, ResidentFeed::bulk_every>(shape, config, args, tuning,
                                                                       stream);
      case ResidentFeed::loads:
        break;
    }
  }
  launch_resident<T, V, Blocks, ResidentFeed::loads>(shape, config, args, tuning, stream);
}

template <typename T, int V>
void launch_one(U1LossKernel kernel, const U1LossShape& shape, const U1LossConfig& config,
                const U1LossArgsOf<T>& args, bool u1_active, const U1ResidentTuning& tuning,
                cudaStream_t stream) {
  if (kernel == U1LossKernel::resident)
    launch_resident<T, V, 1>(shape, config, args, tuning, stream);
  else if (kernel == U1LossKernel::resident_pair)
    launch_resident<T, V, u1_layout::kResidentPairBlocks>(shape, config, args, tuning, stream);
  else
    launch_streaming<T, V>(shape, config, args, u1_active, stream);
}

template <typename T>
void launch_path(U1LossKernel kernel, const U1LossShape& shape, const U1LossConfig& config,
                 const U1LossArgsOf<T>& args, bool u1_active, const U1ResidentTuning& tuning,
                 cudaStream_t stream) {
  if (rows_split_into_16_byte_vectors(shape.channels, sizeof(T),
                                      {args.activation, args.dactivation}))
    launch_one<T, kVector16<T>>(kernel, shape, config, args, u1_active, tuning, stream);
  else
    launch_one<T, 1>(kernel, shape, config, args, u1_active, tuning, stream);
}

template <typename Activation, typename DeviceActivation>
void launch(const U1LossShape& shape, const U1LossConfig& config,
            const U1LossArgsOf<Activation>& args, cudaStream_t stream, U1LossKernel requested,
            const U1ResidentTuning& tuning) {
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
  if (u1_active && (config.weight > 0.0f || requested == U1LossKernel::resident ||
                    requested == U1LossKernel::resident_pair))
    kernel = resolve_u1_loss_kernel(requested, shape, sizeof(Activation),
                                    runtime::max_shared_memory_per_block(),
                                    runtime::cluster_launch_supported());
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
  launch_path<DeviceActivation>(kernel, shape, config, device_args, u1_active, tuning, stream);
}

}  // namespace

void u1_loss_forward_backward(const U1LossShape& shape, const U1LossConfig& config,
                              const U1LossArgsOf<float>& args, cudaStream_t stream,
                              U1LossKernel kernel, const U1ResidentTuning& tuning) {
  launch<float, float>(shape, config, args, stream, kernel, tuning);
}

void u1_loss_forward_backward(const U1LossShape& shape, const U1LossConfig& config,
                              const U1LossArgsOf<bf16>& args, cudaStream_t stream,
                              U1LossKernel kernel, const U1ResidentTuning& tuning) {
  launch<bf16, __nv_bfloat16>(shape, config, args, stream, kernel, tuning);
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC
