// The resident fused-loss kernel (U1LossKernel::resident; launched from u1_loss.cu): each
// sample's activation A is read from DRAM once and kept in shared memory for the gradient.
//
// Persistent: as many blocks of 512 threads as the device holds at once (one per SM at
// ResNet-50's size: 7x7x2048 bf16 is 196 KB of the 227 KB a block may have), block i taking
// samples i, i + grid, ... Per sample three memory phases: pass 1 loads A (the moments),
// pass 2 reads dA, adds the gradient and writes it back. Block-per-sample (the previous
// design) left the SM's memory pipe idle at every phase change: the block's start (label,
// logits, table), the block sum between the passes, the wait for the last stores; and it
// gave one warp per site, 49 sites over 16 warps, so one warp swept 4 rows while the others
// swept 3. Here:
//   - one flattened sweep: vector j of the sample (16 bytes, or one element on the scalar
//     path) goes to thread j mod 512, which tracks its site and channels by a fixed stride
//     with one carry (ResidentGeometry), positions are one FMA and the gradient terms
//     affine forms folded once per sample (the first H100 profile had ~140 instructions
//     per vector and pass, issue at 35%, 16 warps mostly waiting: 28.3M -> 21.9M). Each
//     thread accumulates E p and the other moments itself (the image moment is linear in
//     E, so no per-site sum is needed): every thread has 24 or 25 vectors of a 7x7x2048
//     sample.
//   - pass 2 of sample k and pass 1 of sample k + grid are one sweep: a thread reads its
//     slot of k's A from shared memory, then overwrites it with k + grid's vector (a
//     thread only ever reads back what it wrote, so no barrier), with k's dA and k + grid's
//     A loads in flight together (4 iterations unrolled: 8 x 16-byte global loads per
//     thread, 64 KB per SM; 6 in a block's first and last sweep). The pipe drains once per
//     sample instead of twice.
//   - between two sweeps, one totals phase (resident_totals): the cross-entropy and the
//     U(1) moments reduced together (an online-softmax partial rides with the sums), one
//     barrier, the label, logits and class angle read together, the logits prefetched into
//     L2 during the sweep before. The block's first sweep starts before any of it.
//   - the next sweep's heads: entering the totals phase, each thread asks L2 for its lines of
//     the first 32 KB (by default) of both streams of the sweep after it (prefetch_heads),
//     so that DRAM keeps streaming while the grid drains its loads and runs the totals phase
//     (every block at about the same time, with no loads of its own in flight). On an H100
//     (2026-11-27-h100.md): 68.7 us with it, 70.0 without (bf16); 127.3 and 132.7 (f32 pair);
//     64 KB no better, 128 KB worse. Asked for inside the sweep instead, with its last
//     loads, the addresses cost the pair kernels spills.
//   - within the combined sweep, on request (U1ResidentTuning::sweep_prefetch, off until
//     timed), each thread asks L2 for its vectors of the next unrolled batch while loading
//     this one's (resident_sweep).
//   - on request (U1ResidentTuning::bulk_first_sweep, off until timed; ResidentFeed), a
//     block's first sweep by bulk copies: thread 0 issues one cp.async.bulk per 8 KB row of
//     the share at the kernel's start, each completing the row's mbarrier, and the threads
//     sum the moments from shared memory as the rows land (copy_rows), so the whole share is
//     in flight at once instead of 48 KB per block; with bulk_next_samples every sample's A
//     comes so, copied into the slots as the update frees them (resident_bulk_sweep).
// Now 80.4% (bf16) and 83.2% (f32 pair) of copy bandwidth. Measured on an H100
// (benchmarks/results/2026-11-26-h100-u1.md), before the totals phase:
// 70.8 us at ResNet-50's size, 78.2% of copy bandwidth (block per sample: 75.6 us); the
// ncu profile then showed the SM's memory pipe idle between the sweeps, where each
// sample waited on 3 dependent global reads and 8 barriers. Tried and slower there: the
// next sample's A copied into its slots by cp.async (no registers held, moments summed
// 1 to 3 batches later from shared memory): 75 to 96 us over batch sizes 4 and 8.
// A pair (Blocks = 2, U1LossKernel::resident_pair): for samples one block cannot hold (7x7x2048
// f32, 392 KB), two blocks of a thread-block cluster (sm_90) share each sample: rank r holds
// the r-th half of its vectors (flattened: one contiguous half each) and takes classes
// 512 r + t, + 1024, ... of its logits; the totals phase sums the two blocks' totals through
// distributed shared memory (sum_over_pair: one cluster barrier per sample), and the kernel
// ends with a cluster barrier (a block's shared memory must outlive the other's reads).
// Rank 0 writes the sample's losses, z and readout. Per block: 128 registers, no spills.
// Floors per sample: A read once, dA read and written once (lambda > 0), C logits read and
// dlogits written; memory-bound. Precision: f32 math and per-thread sums in a fixed order,
// then block sums in a fixed order (deterministic; the rounding differs from the streaming
// kernel's, which sums per site). Shared memory: u1_loss_layout.h.
#pragma once

#include "kernels/common/fast_divmod.cuh"
#include "kernels/u1loss/u1_loss_device.cuh"
#include "kernels/u1loss/u1_loss_layout.h"
#include "runtime/async_copy.h"
#include "runtime/bulk_copy.h"
#include "runtime/cluster.h"

namespace sombrero::kernels::SOMBRERO_EXEC::u1_device {

// Vector j of a sample: site j / R, channels V (j mod R) ..., R = N / V vectors per row;
// site y W + x. A thread's vectors are j = t, t + 512, ... of its block's share: it steps its
// (site, r) by (512 / R, 512 mod R) with one carry, instead of dividing per vector.
struct ResidentGeometry {
  FastDivmod vectors_per_row, width;
  int vectors;              // H W N / V
  int block_vectors;        // per block: vectors, or a pair's rank r: [r, r + 1) x this
                            // (clipped to vectors)
  int step_sites, step_r;   // 512 / R, 512 mod R
  float x_scale, x_offset;  // p_x = x_scale x + x_offset = centred(x, W)
  float y_scale, y_offset;  // p_y = y_scale y + y_offset = -centred(y, H) (y points up)
  int head_lines;           // 128-byte lines of each stream of the next sweep asked into L2
                            // before a totals phase (prefetch_heads); 0: none
  bool sweep_ahead;         // within a sweep, ask L2 for the next unrolled batch's vectors
                            // while loading this one's (resident_sweep)
};

// How a resident kernel brings each sample's A into its slots: every thread's loads;
// bulk copies for the block's first sample (U1ResidentTuning::bulk_first_sweep); bulk copies
// for every sample (+ bulk_next_samples). 16-byte vectors on sm_90 only (bulk copies).
enum class ResidentFeed { loads, bulk_first, bulk_every };

// (site, r) of a thread's current vector, advanced by one step of 512 vectors.
struct VectorCursor {
  int site, r;
  __device__ __forceinline__ void advance(const ResidentGeometry& g) {
    site += g.step_sites;
    r += g.step_r;
    if (r >= g.vectors_per_row.divisor()) {
      r -= g.vectors_per_row.divisor();
      ++site;
    }
  }
};

// The vectors of a sample one block holds: [begin, begin + count).
struct BlockShare {
  int begin, count;
};

// The position terms and harmonics of a thread's current vector (site and channel group from
// `cursor`, which then steps to the thread's next vector).
template <int V, bool Tabled>
__device__ __forceinline__ void place_vector(const ResidentGeometry& g, VectorCursor& cursor, int N,
                                             const float* table_cos, const float* table_sin,
                                             float& p_x, float& p_y, float (&c)[V],
                                             float (&sn)[V]) {
  const int r = cursor.r;
  int y, x;
  g.width.divmod(cursor.site, y, x);
  cursor.advance(g);
  p_x = fmaf(g.x_scale, static_cast<float>(x), g.x_offset);
  p_y = fmaf(g.y_scale, static_cast<float>(y), g.y_offset);
  harmonics<V, Tabled>(r * V, N, table_cos, table_sin, c, sn);
}

// Pass 2 of one vector: dA (its stored bits, `gradient_bits`) += the gradient, with A from
// its shared-memory slot.
template <typename T, int V>
__device__ __forceinline__ void update_vector(const T* slot, const RawVector<T, V>& gradient_bits,
                                              T* dA, const U1Gradient& gradient, float p_x,
                                              float p_y, const float (&c)[V],
                                              const float (&sn)[V]) {
  float a[V], d[V];
  load_as_f32<V>(slot, a);
  raw_to_f32<T, V>(gradient_bits, d);
  const float image_term = gradient.image_term(p_x, p_y);
  for (int e = 0; e < V; ++e) d[e] += fmaf(image_term, a[e], gradient.feature_term(c[e], sn[e]));
  store_from_f32<V>(dA, d);
}

// Pass 1 of one vector: its energy and moments added to the thread's, in one fixed order
// (every path of the sweeps adds a thread's vectors in the order j = t, t + 512, ...).
template <typename T, int V>
__device__ __forceinline__ void add_moments(const RawVector<T, V>& bits, float p_x, float p_y,
                                            const float (&c)[V], const float (&sn)[V],
                                            float (&moments)[6]) {
  float v[V], energy = 0.0f;
  raw_to_f32<T, V>(bits, v);
  accumulate_vector<V>(v, c, sn, energy, moments);
  moments[0] += energy;
  moments[1] = fmaf(energy, p_x, moments[1]);
  moments[2] = fmaf(energy, p_y, moments[2]);
}

// One sweep over this block's share of a sample's vectors (dA_current and A_next point at
// the share's first vector; j counts from there). Update: dA_current += gradient, with A
// from this thread's shared-memory slots. Load: A_next into the same slots (after Update has
// read them), its moments added to `moments`. Unroll iterations issue all their global
// loads before any arithmetic.
template <typename T, int V, bool Tabled, bool Update, bool Load, int Unroll>
__device__ __forceinline__ void resident_sweep(const ResidentGeometry& g, BlockShare share, int N,
                                               T* resident, T* __restrict__ dA_current,
                                               const U1Gradient& gradient,
                                               const T* __restrict__ A_next, const float* table_cos,
                                               const float* table_sin, float (&moments)[6]) {
  constexpr int Threads = u1_layout::kResidentThreads;
  VectorCursor cursor;
  g.vectors_per_row.divmod(share.begin + static_cast<int>(threadIdx.x), cursor.site, cursor.r);
  for (int first = threadIdx.x; first < share.count; first += Unroll * Threads) {
    RawVector<T, V> gradient_bits[Unroll], next[Unroll];
#pragma unroll
    for (int u = 0; u < Unroll; ++u) {
      const int j = first + u * Threads;
      if (j < share.count) {
        if constexpr (Update) gradient_bits[u] = load_raw<T, V>(dA_current + j * V);
        if constexpr (Load) next[u] = load_raw_readonly<T, V>(A_next + j * V);
      }
      // In the combined sweep, when asked (sweep_ahead): the same vectors of the next batch,
      // into L2 only, so DRAM sees two batches per thread in flight while the registers hold
      // one (addresses: this batch's plus a constant). Not in the single sweeps: there the
      // bf16 vector kernel would spill 16 bytes.
      if constexpr (Update && Load) {
        if (g.sweep_ahead && j + Unroll * Threads < share.count) {
          runtime::prefetch_l2(dA_current + (j + Unroll * Threads) * V);
          runtime::prefetch_l2(A_next + (j + Unroll * Threads) * V);
        }
      }
    }
#pragma unroll
    for (int u = 0; u < Unroll; ++u) {
      const int j = first + u * Threads;
      if (j >= share.count) break;
      float p_x, p_y, c[V], sn[V];
      place_vector<V, Tabled>(g, cursor, N, table_cos, table_sin, p_x, p_y, c, sn);
      // Update reads the slot before Load overwrites it.
      if constexpr (Update)
        update_vector<T, V>(resident + j * V, gradient_bits[u], dA_current + j * V, gradient, p_x,
                            p_y, c, sn);
      if constexpr (Load) {
        store_raw<T, V>(resident + j * V, next[u]);
        add_moments<T, V>(next[u], p_x, p_y, c, sn, moments);
      }
    }
  }
}

// The sweep with the table-or-compute choice of the harmonics made once (uniform).
// Iterations unrolled: 4 when both passes run (8 global loads in flight per thread), 6 in a
// single one (a block's first and last sweep: 6 loads; 128 registers, the most 512 threads
// allow, without spilling; 8 spill). Unmeasured against 4 there (the previous setting).
template <typename T, int V, bool Update, bool Load>
__device__ __forceinline__ void resident_sweep(bool tabled, const ResidentGeometry& g,
                                               BlockShare share, int N, T* resident,
                                               T* __restrict__ dA_current,
                                               const U1Gradient& gradient,
                                               const T* __restrict__ A_next, const float* table_cos,
                                               const float* table_sin, float (&moments)[6]) {
  constexpr int Unroll = Update && Load ? 4 : 6;
  if (tabled)
    resident_sweep<T, V, true, Update, Load, Unroll>(g, share, N, resident, dA_current, gradient,
                                                     A_next, table_cos, table_sin, moments);
  else
    resident_sweep<T, V, false, Update, Load, Unroll>(g, share, N, resident, dA_current, gradient,
                                                      A_next, table_cos, table_sin, moments);
}

// Thread 0, by bulk copies: rows [row_begin, row_end) of a share of A (`count` 16-byte
// vectors from A_share) into their slots, row i completing landed[i] (initialised with
// count 1 at the kernel's start: this thread's arrive_expect_tx, then the copy's bytes). The
// readers wait on the barrier of each vector's row; every row has a reader that waits
// (thread 0 reads vector 512 i of row i), so no copy is in flight when the slots are written
// again or the block ends. Each copy completes one phase of its row's barrier: a share's
// k-th landing (k = 0, 1, ...) is waited for with parity k & 1.
template <typename T, int V>
__device__ __forceinline__ void copy_rows(const T* A_share, T* resident, int count,
                                          std::uint64_t* landed, int row_begin, int row_end) {
  static_assert(V * sizeof(T) == 16, "bulk copies move whole 16-byte vectors");
  constexpr int Threads = u1_layout::kResidentThreads;
  for (int i = row_begin; i < row_end; ++i) {
    const int first = i * Threads;
    const auto bytes = static_cast<unsigned>(min(Threads, count - first) * V * sizeof(T));
    runtime::mbarrier_arrive_expect_tx(&landed[i], bytes);
    runtime::bulk_copy_to_shared(resident + first * V, A_share + first * V, bytes, &landed[i]);
  }
}

// Pass 1 from landed rows [row_begin, row_end): this thread's vector of each, once its row's
// copy has landed (`parity`), its moments added in row order (`cursor` at the first one).
template <typename T, int V, bool Tabled>
__device__ __forceinline__ void sum_landed_rows(const ResidentGeometry& g, int count, int N,
                                                const T* resident, std::uint64_t* landed,
                                                unsigned parity, int row_begin, int row_end,
                                                VectorCursor& cursor, const float* table_cos,
                                                const float* table_sin, float (&moments)[6]) {
  constexpr int Threads = u1_layout::kResidentThreads;
  for (int row = row_begin; row < row_end; ++row) {
    const int j = row * Threads + static_cast<int>(threadIdx.x);
    if (j >= count) break;
    runtime::mbarrier_wait(landed + row, parity);
    const RawVector<T, V> bits = load_raw<T, V>(resident + j * V);
    float p_x, p_y, c[V], sn[V];
    place_vector<V, Tabled>(g, cursor, N, table_cos, table_sin, p_x, p_y, c, sn);
    add_moments<T, V>(bits, p_x, p_y, c, sn, moments);
  }
}

// The combined sweep with the next sample's A by bulk copies (U1ResidentTuning::
// bulk_next_samples): in chunks of 4 rows, each thread adds the gradient to dA of its
// vectors there (4 dA loads in flight, A from the slots), one barrier (every slot of the
// chunk read), thread 0 issues the chunk's copies of A_next into those slots, and each
// thread sums the moments of the chunk before, whose copies have had a chunk's time to land
// (so the moments go in row order: the same bits as the load path). The registers hold dA
// only; the copies keep up to a chunk of A per block in flight besides. Barriers per sample:
// one per chunk (7 at ResNet-50's 25 rows); the trip count is the same for every thread.
template <typename T, int V, bool Tabled>
__device__ __forceinline__ void resident_bulk_sweep(
    const ResidentGeometry& g, BlockShare share, int N, T* resident, T* __restrict__ dA,
    const U1Gradient& gradient, const T* __restrict__ A_next, std::uint64_t* landed,
    unsigned parity, const float* table_cos, const float* table_sin, float (&moments)[6]) {
  constexpr int Threads = u1_layout::kResidentThreads, Chunk = 4;
  const int t = static_cast<int>(threadIdx.x), rows = u1_layout::resident_rows(share.count);
  VectorCursor updating;
  g.vectors_per_row.divmod(share.begin + t, updating.site, updating.r);
  VectorCursor summing = updating;
  for (int row0 = 0; row0 < rows; row0 += Chunk) {
    RawVector<T, V> gradient_bits[Chunk];
#pragma unroll
    for (int u = 0; u < Chunk; ++u) {
      const int j = (row0 + u) * Threads + t;
      if (j < share.count) gradient_bits[u] = load_raw<T, V>(dA + j * V);
      if (g.sweep_ahead && j + Chunk * Threads < share.count)
        runtime::prefetch_l2(dA + (j + Chunk * Threads) * V);
    }
#pragma unroll
    for (int u = 0; u < Chunk; ++u) {
      const int j = (row0 + u) * Threads + t;
      if (j >= share.count) break;
      float p_x, p_y, c[V], sn[V];
      place_vector<V, Tabled>(g, updating, N, table_cos, table_sin, p_x, p_y, c, sn);
      update_vector<T, V>(resident + j * V, gradient_bits[u], dA + j * V, gradient, p_x, p_y, c,
                          sn);
    }
    __syncthreads();  // every thread has read its slots of these rows
    if (t == 0)
      copy_rows<T, V>(A_next, resident, share.count, landed, row0, min(row0 + Chunk, rows));
    if (row0 > 0)
      sum_landed_rows<T, V, Tabled>(g, share.count, N, resident, landed, parity, row0 - Chunk, row0,
                                    summing, table_cos, table_sin, moments);
  }
  if (rows > 0) {
    const int last = (rows - 1) / Chunk * Chunk;
    sum_landed_rows<T, V, Tabled>(g, share.count, N, resident, landed, parity, last, rows, summing,
                                  table_cos, table_sin, moments);
  }
}

template <typename T, int V>
__device__ __forceinline__ void resident_bulk_sweep(bool tabled, const ResidentGeometry& g,
                                                    BlockShare share, int N, T* resident,
                                                    T* __restrict__ dA, const U1Gradient& gradient,
                                                    const T* __restrict__ A_next,
                                                    std::uint64_t* landed, unsigned parity,
                                                    const float* table_cos, const float* table_sin,
                                                    float (&moments)[6]) {
  if (tabled)
    resident_bulk_sweep<T, V, true>(g, share, N, resident, dA, gradient, A_next, landed, parity,
                                    table_cos, table_sin, moments);
  else
    resident_bulk_sweep<T, V, false>(g, share, N, resident, dA, gradient, A_next, landed, parity,
                                     table_cos, table_sin, moments);
}

// Asks L2 for sample b's logits row (one 128-byte line per thread of the first C / 32 of
// the Blocks x 512 sharing the sample; `thread`: this one's index among them), so that the
// phase after the coming sweep finds it there instead of in DRAM.
template <int Blocks, typename T>
__device__ __forceinline__ void prefetch_logits(int b, int thread, const U1LossShape& shape,
                                                const U1LossArgsOf<T>& args) {
  constexpr int kLineFloats = 128 / sizeof(float);
  const int C = shape.classes;
  const float* row = args.logits + static_cast<long long>(b) * C;
  for (int i = thread * kLineFloats; i < C; i += Blocks * u1_layout::kResidentThreads * kLineFloats)
    runtime::prefetch_l2(row + i);
}

// Before sample b's totals phase: asks L2 for the first geometry.head_lines lines of each
// stream of the sweep after it at this block's share (`share_offset` elements into a
// sample; thread t: lines t, t + 512, ...): dA of b (when lambda > 0) and A of `next` (when
// there is one). Every block of the grid drains its loads and runs its totals phase at about
// the same time, with no loads of its own in flight: this keeps DRAM streaming through that
// gap, and the next sweep's first loads hit L2. Issued by each thread as it enters the phase
// (a warp done with its sweep early asks early). A hint: no result depends on it.
template <typename T>
__device__ __forceinline__ void prefetch_heads(int b, int next, long long sample_elements,
                                               long long share_offset, int head_lines,
                                               const U1LossShape& shape, const U1LossConfig& config,
                                               const U1LossArgsOf<T>& args) {
  constexpr int kLineBytes = 128;
  // Within the sample from the share on (rank 0 of a pair may ask for lines of rank 1's half
  // when its own is shorter than the request: still inside the tensors).
  const long long bytes_left = (sample_elements - share_offset) * static_cast<long long>(sizeof(T));
  const auto* dA =
      reinterpret_cast<const unsigned char*>(args.dactivation + b * sample_elements + share_offset);
  const auto* A = reinterpret_cast<const unsigned char*>(args.activation + next * sample_elements +
                                                         share_offset);
  const bool gradient = config.weight > 0.0f, another = next < shape.batch;
#pragma unroll 1
  for (int line = threadIdx.x; line < head_lines; line += u1_layout::kResidentThreads) {
    const long long offset = static_cast<long long>(line) * kLineBytes;
    if (offset >= bytes_left) break;
    if (gradient) runtime::prefetch_l2(dA + offset);
    if (another) runtime::prefetch_l2(A + offset);
  }
}

// The totals a block carries out of its reduction, in the order of its scratch slots.
struct ResidentTotals {
  float moments[6];
  float sum_logits;
  SoftmaxPartial softmax;
};

// In a pair of blocks (Blocks = 2, a cluster): every thread of both blocks turns its block's
// totals into the sample's, summing the blocks' in rank order (so both blocks hold the same
// bits). Thread 0 leaves its block's totals in `exchange`, one cluster barrier, then lane k
// < 9 of each warp reads slot k of each block (distributed shared memory) and the warp
// shares them by shuffles. `exchange` is double-buffered like the block's totals: the
// barrier of the next sample orders this sample's reads before that half is written again.
template <int Blocks>
__device__ __forceinline__ void sum_over_pair(ResidentTotals& t, float* exchange) {
  if (threadIdx.x == 0) {
    for (int k = 0; k < 6; ++k) exchange[k] = t.moments[k];
    exchange[6] = t.sum_logits;
    exchange[7] = t.softmax.max;
    exchange[8] = t.softmax.sum;
  }
  runtime::cluster_sync();
  const int lane = threadIdx.x % 32;
  for (int rank = 0; rank < Blocks; ++rank) {
    const float* slots = runtime::cluster_shared(exchange, static_cast<unsigned>(rank));
    const float mine = lane < 9 ? slots[lane] : 0.0f;
    float v[9];
    for (int k = 0; k < 9; ++k) v[k] = __shfl_sync(0xffffffffu, mine, k);
    if (rank == 0) {
      for (int k = 0; k < 6; ++k) t.moments[k] = v[k];
      t.sum_logits = v[6];
      t.softmax = SoftmaxPartial{v[7], v[8]};
    } else {
      for (int k = 0; k < 6; ++k) t.moments[k] += v[k];
      t.sum_logits += v[6];
      t.softmax.merge(v[7], v[8]);
    }
  }
}

// The phase between two sweeps, for sample b (label in range) whose pass-1 sums this thread
// holds in `moments`: the cross-entropy and the U(1) totals in one block reduction. Each
// thread folds its logits into an online-softmax partial and their sum; warp shuffles, then
// one barrier over `totals` (this sample's half of the double buffer: the other half is
// the previous sample's, which no thread can still be reading, so no barrier after), and
// each warp merges the 16 warps' slots by a butterfly (deterministic, every thread the same
// bits). A pair of blocks splits the logits between them (thread t of rank r takes classes
// 512 r + t, + 1024, ...) and sums its two blocks' totals (sum_over_pair). Then dlogits,
// the sample losses (rank 0), z, the readout (its own two barriers, only when asked for) and
// the gradient terms.
// The block sum, block max and block sum of the block-per-sample design were 6 barriers
// and 3 dependent global reads (label, logits, class angle) between the sweeps; here the
// reads are issued together, and the logits were prefetched into L2 during the sweep.
template <int Warps, int Blocks, typename T>
__device__ __forceinline__ U1Gradient resident_totals(
    int b, int rank, float (&moments)[6], const U1LossShape& shape, const U1LossConfig& config,
    const U1LossArgsOf<T>& args, float (*totals)[u1_layout::kResidentTotalSlots], float* exchange,
    float (*readout)[8]) {
  constexpr int Threads = 32 * Warps;
  const int C = shape.classes;
  const float* logits = args.logits + static_cast<long long>(b) * C;
  const int label = args.labels[b];
  const float label_logit = logits[label], theta = args.class_angles[label];
  const int first_class = rank * Threads + static_cast<int>(threadIdx.x);
  SoftmaxPartial softmax;
  float sum_logits = 0.0f;
  for (int j = first_class; j < C; j += Blocks * Threads) {
    const float l = logits[j];
    softmax.add(l);
    sum_logits += l;
  }
  for (float& m : moments) m = warp_sum(m);
  sum_logits = warp_sum(sum_logits);
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other_max = __shfl_xor_sync(0xffffffffu, softmax.max, offset);
    const float other_sum = __shfl_xor_sync(0xffffffffu, softmax.sum, offset);
    softmax.merge(other_max, other_sum);  // commutative: every lane gets the same bits
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) {
    for (int k = 0; k < 6; ++k) totals[warp][k] = moments[k];
    totals[warp][6] = sum_logits;
    totals[warp][7] = softmax.max;
    totals[warp][8] = softmax.sum;
  }
  __syncthreads();
  // Every warp merges the Warps slots the same way: lane w takes warp w's (lanes past Warps
  // the identity), then a butterfly over the lanes, so every thread ends with the same bits
  // (each step combines two values commutatively): 9 loads and 5 shuffle rounds per thread,
  // where merging the slots one by one took Warps x 9 loads and Warps - 1 softmax merges (2
  // exponentials each) in a chain of dependent steps.
  static_assert(Warps <= 32, "one lane per warp slot");
  ResidentTotals t{{0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}, 0.0f, SoftmaxPartial{}};
  if (lane < Warps) {
    for (int k = 0; k < 6; ++k) t.moments[k] = totals[lane][k];
    t.sum_logits = totals[lane][6];
    t.softmax = SoftmaxPartial{totals[lane][7], totals[lane][8]};
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    for (float& m : t.moments) m += __shfl_xor_sync(0xffffffffu, m, offset);
    t.sum_logits += __shfl_xor_sync(0xffffffffu, t.sum_logits, offset);
    const float other_max = __shfl_xor_sync(0xffffffffu, t.softmax.max, offset);
    const float other_sum = __shfl_xor_sync(0xffffffffu, t.softmax.sum, offset);
    t.softmax.merge(other_max, other_sum);
  }
  if constexpr (Blocks > 1) sum_over_pair<Blocks>(t, exchange);
  for (int k = 0; k < 6; ++k) moments[k] = t.moments[k];
  const float log_sum_exp = t.softmax.log_sum_exp();
  write_dlogits<Blocks * Threads>(b, label, log_sum_exp, shape, config, args, first_class);
  const float ce =
      cross_entropy_from_totals(log_sum_exp, label_logit, t.sum_logits, config.label_smoothing, C);
  return finish_u1<Warps>(b, moments, ce, theta, shape, config, args, readout, rank == 0);
}

// Pass 1 of a whole share whose rows bulk copies fill (a block's first sample, or every
// sample after an invalid one): each thread's vectors in row order as they land (`parity`).
template <typename T, int V>
__device__ __forceinline__ void sum_landed_share(bool tabled, const ResidentGeometry& g,
                                                 BlockShare share, int N, const T* resident,
                                                 std::uint64_t* landed, unsigned parity,
                                                 const float* table_cos, const float* table_sin,
                                                 float (&moments)[6]) {
  VectorCursor cursor;
  g.vectors_per_row.divmod(share.begin + static_cast<int>(threadIdx.x), cursor.site, cursor.r);
  const int rows = u1_layout::resident_rows(share.count);
  if (tabled)
    sum_landed_rows<T, V, true>(g, share.count, N, resident, landed, parity, 0, rows, cursor,
                                table_cos, table_sin, moments);
  else
    sum_landed_rows<T, V, false>(g, share.count, N, resident, landed, parity, 0, rows, cursor,
                                 table_cos, table_sin, moments);
}

// V: elements per access, 1 or kVector16<T>. Blocks: per sample, 1 or a pair (launched in
// clusters of 2: rank r holds vectors [r, r + 1) x geometry.block_vectors of each sample).
// Feed: how A reaches the slots (ResidentFeed; bulk copies: 16-byte vectors, sm_90, at most
// kResidentLandedRows rows per share); kernels of their own, since the bf16 vector kernels
// are at the 128 registers 512 threads allow and the extra code made them spill 24-32 bytes.
// Requires U(1) work (lambda > 0 or the readout: the launch streams otherwise). Per block
// (pair): pass 1 of its first sample, then per sample the totals phase and one sweep (pass 2
// of it, pass 1 of the next sample).
template <typename T, int V, int Blocks, ResidentFeed Feed>
__global__ void __launch_bounds__(u1_layout::kResidentThreads, 1)
    u1_loss_resident_kernel(U1LossShape shape, U1LossConfig config, U1LossArgsOf<T> args,
                            ResidentGeometry geometry) {
  constexpr int Threads = u1_layout::kResidentThreads, Warps = Threads / 32;
  constexpr int Slots = u1_layout::kResidentTotalSlots;
  SOMBRERO_DYNAMIC_SHARED(float, shared);
  static_assert(u1_layout::kResidentScratchBytes ==
                (Warps * (2 * Slots + 8) + 2 * Slots) * sizeof(float));
  const auto totals = [&](int parity) {  // the two halves: [Warps][Slots] each
    return reinterpret_cast<float(*)[Slots]>(shared + parity * Warps * Slots);
  };
  float(*readout)[8] = reinterpret_cast<float(*)[8]>(shared + 2 * Warps * Slots);
  const auto exchange = [&](int parity) {
    return shared + Warps * (2 * Slots + 8) + parity * Slots;
  };
  auto* landed = reinterpret_cast<std::uint64_t*>(reinterpret_cast<unsigned char*>(shared) +
                                                  u1_layout::kResidentScratchBytes);
  float* table_cos =
      shared + (u1_layout::kResidentScratchBytes + u1_layout::kResidentLandedBytes) / sizeof(float);
  float* table_sin = table_cos + shape.channels;
  T* resident = reinterpret_cast<T*>(
      reinterpret_cast<unsigned char*>(shared) + u1_layout::kResidentScratchBytes +
      u1_layout::kResidentLandedBytes + u1_layout::table_bytes(shape.channels));
  const int H = shape.height, W = shape.width, N = shape.channels;
  const long long sample_elements = static_cast<long long>(H) * W * N;
  const bool tabled = N <= u1_layout::kTableChannels;
  const bool update = config.weight > 0.0f;
  // The block's rank in its pair and what follows from it, recomputed where used (a special
  // register and the kernel's parameters) rather than held in registers across the sweeps.
  const auto rank = [] {
    if constexpr (Blocks > 1)
      return static_cast<int>(runtime::cluster_rank());
    else
      return 0;
  };
  const auto share = [&] {
    const int begin = rank() * geometry.block_vectors;
    return BlockShare{begin, min(geometry.vectors - begin, geometry.block_vectors)};
  };
  const auto share_offset = [&] {  // elements
    return static_cast<long long>(rank()) * geometry.block_vectors * V;
  };
  const auto thread = [&] {  // among the Blocks x 512 threads of the sample
    return rank() * Threads + static_cast<int>(threadIdx.x);
  };
  const int samples_in_flight = static_cast<int>(gridDim.x) / Blocks;

  constexpr bool kBulk = Feed != ResidentFeed::loads;
  int b = static_cast<int>(blockIdx.x) / Blocks;
  // Bulk copies first, so that DRAM streams while the rest sets up. Issued whatever the
  // label (b < batch: in bounds); the sweep below waits for them either way.
  if constexpr (kBulk) {
    if (threadIdx.x == 0) {
      const int rows = u1_layout::resident_rows(share().count);
      for (int i = 0; i < rows; ++i) runtime::mbarrier_init(&landed[i], 1);
      copy_rows<T, V>(args.activation + b * sample_elements + share_offset(), resident,
                      share().count, landed, 0, rows);
    }
  }
  // Landings of the rows' barriers so far: the next one is waited for with this parity.
  unsigned landings = 0;
  bool valid = label_in_range(args, b, shape.classes);
  prefetch_logits<Blocks>(b, thread(), shape, args);
  if (tabled) fill_harmonic_table<V, Threads>(N, table_cos, table_sin);
  __syncthreads();
  float moments[6] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  if constexpr (kBulk)
    sum_landed_share<T, V>(tabled, geometry, share(), N, resident, landed, landings++ & 1u,
                           table_cos, table_sin, moments);
  else if (valid)
    resident_sweep<T, V, false, true>(tabled, geometry, share(), N, resident, nullptr, U1Gradient{},
                                      args.activation + b * sample_elements + share_offset(),
                                      table_cos, table_sin, moments);
  // The half of `totals` the next reduction uses. It changes only after a reduction (a
  // sample with an invalid label has none, hence no barrier: flipping there would let a
  // fast thread overwrite the half that slow threads may still be reading).
  int parity = 0;
  for (;;) {
    const int next = b + samples_in_flight;
    const bool load = next < shape.batch && label_in_range(args, next, shape.classes);
    U1Gradient gradient;
    if (valid) {
      prefetch_heads(b, next, sample_elements, share_offset(), geometry.head_lines, shape, config,
                     args);
      gradient = resident_totals<Warps, Blocks>(b, rank(), moments, shape, config, args,
                                                totals(parity), exchange(parity), readout);
      parity ^= 1;
    } else {
      write_invalid_sample<Blocks * Threads>(b, shape, args, thread(), thread() == 0);
    }
    const bool store = valid && update;
    for (float& m : moments) m = 0.0f;
    T* dA = store ? args.dactivation + b * sample_elements + share_offset() : nullptr;
    const T* A_next = load ? args.activation + next * sample_elements + share_offset() : nullptr;
    if (load) prefetch_logits<Blocks>(next, thread(), shape, args);
    if constexpr (Feed == ResidentFeed::bulk_every) {
      // The next sample's rows come by bulk copies whatever its label (so that every
      // sample lands once and the parities stay in step); an invalid one's moments go unused.
      const bool another = next < shape.batch;
      const T* A_another =
          another ? args.activation + next * sample_elements + share_offset() : nullptr;
      if (store && another) {
        resident_bulk_sweep<T, V>(tabled, geometry, share(), N, resident, dA, gradient, A_another,
                                  landed, landings++ & 1u, table_cos, table_sin, moments);
      } else if (store) {
        resident_sweep<T, V, true, false>(tabled, geometry, share(), N, resident, dA, gradient,
                                          nullptr, table_cos, table_sin, moments);
      } else if (another) {
        // No pass 2 to free the slots row by row: wait until every thread is done with them
        // (the last sweep's reads), then copy them all.
        __syncthreads();
        if (threadIdx.x == 0)
          copy_rows<T, V>(A_another, resident, share().count, landed, 0,
                          u1_layout::resident_rows(share().count));
        sum_landed_share<T, V>(tabled, geometry, share(), N, resident, landed, landings++ & 1u,
                               table_cos, table_sin, moments);
      }
    } else if (store && load) {
      resident_sweep<T, V, true, true>(tabled, geometry, share(), N, resident, dA, gradient, A_next,
                                       table_cos, table_sin, moments);
    } else if (store) {
      resident_sweep<T, V, true, false>(tabled, geometry, share(), N, resident, dA, gradient,
                                        A_next, table_cos, table_sin, moments);
    } else if (load) {
      resident_sweep<T, V, false, true>(tabled, geometry, share(), N, resident, dA, gradient,
                                        A_next, table_cos, table_sin, moments);
    }
    if (next >= shape.batch) break;
    b = next;
    valid = load;
  }
  // The other block of the pair may still read this one's exchange slots: stay until it
  // is done (a block's shared memory ends with it).
  if constexpr (Blocks > 1) runtime::cluster_sync();
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC::u1_device
