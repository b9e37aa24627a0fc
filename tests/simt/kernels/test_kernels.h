// Host launch functions of the kernels that test the SIMT emulation itself (tests/simt).
// Built from the same .cu files for SIMT (namespace simt_test::simt, host pointers) and,
// with the CUDA backend, by nvcc (simt_test::cuda, device pointers).
#pragma once

#include <cstdint>

#include "runtime/stream_fwd.h"

namespace sombrero::simt_test {

// async_copy_pipeline's variants: the correct pipeline, and the planted bugs.
enum class AsyncCopyMode { correct, zero_fill_odd_tiles, missing_wait, early_overwrite };

// wgmma_gemm's shared-memory layouts (A and B K-major swizzled, K-major core matrices; B, or
// both, MN-major swizzled), and its planted bugs.
enum class WgmmaLayout { swizzle128, core_matrices, swizzle128_b_mn, swizzle128_mn };
enum class WgmmaBug {
  none,
  accumulators_read_before_wait,
  tile_overwritten_before_wait,
  exits_with_wgmma_in_flight,
  b_descriptor_past_shared_memory
};

// bulk_copy_ring's planted bugs.
enum class BulkCopyBug {
  none,
  consumers_skip_the_full_wait,   // read the stage without waiting for its copy
  producer_skips_the_empty_wait,  // refill a stage the consumers may still be reading
  empty_expects_one_too_many,     // `empty` initialised for one consumer more than there are
  no_init                         // the barriers used without mbarrier_init
};

// cluster_exchange's planted bugs.
enum class ClusterBug {
  none,
  missing_barrier_before_reads,
  missing_barrier_before_exit,
  one_block_skips_the_barrier
};

#define SOMBRERO_SIMT_TEST_KERNELS                                                                \
  /* Per-block sums of x (blocks of 256), shared-memory tree; racy: a barrier left out. */        \
  void block_sum(const int* x, int blocks, int* sums, bool racy);                                 \
  /* out (cols x rows) = in (rows x cols) transposed through a 32x33 shared tile. */              \
  void transpose(const float* in, int rows, int cols, float* out, bool racy);                     \
  /* Per warp of x: sum (shfl_down), max (shfl_xor), inclusive scan (shfl_up), lane 5's */        \
  /* value broadcast (shfl), ballot of x > 0, any, all. out holds 32 ints per lane field. */      \
  void warp_ops(const int* x, int threads, int* sums, int* maxima, int* scans, int* broadcast,    \
                unsigned* ballots, int* any, int* all);                                           \
  /* 16-lane segment sums with width 16 and a half-warp mask. */                                  \
  void half_warp_sums(const float* x, float* sums);                                               \
  /* Histogram of bins (values in [0, 64)) through shared-memory atomics; plus float */           \
  /* atomicAdd total, atomicMax/atomicMin on int and a CAS-loop float maximum. */                 \
  void histogram(const int* values, int n, unsigned* bins, float* total, int* max_value,          \
                 int* min_value, float* max_float);                                               \
  /* Kernels with planted faults (divergent barriers, a lane missing from a shuffle). */          \
  void early_exit_before_barrier(int* out);                                                       \
  void barrier_in_both_branches(int* out);                                                        \
  void shuffle_with_exited_lane(int* out);                                                        \
  /* D (M x N, f32) = A (M x K, bf16 row-major) * B (K x N, bf16 row-major) with */               \
  /* mma.m16n8k16 fed by ldmatrix; M % 16 == 0, N % 8 == 0, K % 16 == 0. */                       \
  void mma_bf16_gemm(const std::uint16_t* a, const std::uint16_t* b, float* d, int m, int n,      \
                     int k);                                                                      \
  /* One m16n8k8 tf32 tile, fragments loaded from global memory by the documented layout: */      \
  /* d = a (16x8 row-major) * b (8x8 row-major) + c (16x8). */                                    \
  void mma_tf32_tile(const float* a, const float* b, const float* c, float* d);                   \
  /* ldmatrix of a 16x16 b16 tile: out[variant][lane][reg] (variants x1, x2, x4, x1.trans, */     \
  /* x2.trans, x4.trans), 6*32*4 words. */                                                        \
  void ldmatrix_all(const std::uint16_t* tile, std::uint32_t* out);                               \
  /* out[i] = sum over tiles of in[tile * 256 + i] through a 3-stage cp.async pipeline */         \
  /* (one block of 64 threads; each reads what another thread copied). */                         \
  void async_copy_pipeline(const float* in, int tiles, float* out, AsyncCopyMode mode);           \
  /* *out = element `index` of an int dynamic shared array of `ints` (filled with 0..ints-1), */  \
  /* and *out = x[index]: with index one past the end, for the sanitizer tests. */                \
  void read_shared(int ints, int index, int* out);                                                \
  void read_global(const int* x, int index, int* out);                                            \
  /* out[0..3] = x[0..3] by one 16-byte vector load: x must be 16-byte aligned. */                \
  void vector_load(const float* x, float* out);                                                   \
  /* D (m x n, f32) = A (m x k, bf16 row-major) * B^T (B n x k, bf16 row-major) with */           \
  /* wgmma m64nNk16 (runtime/warpgroup_mma.h); m % 64 == 0, n 64 or 128, k % 64 == 0. */          \
  void wgmma_gemm(const std::uint16_t* a, const std::uint16_t* b, float* d, int m, int n, int k,  \
                  WgmmaLayout layout, WgmmaBug bug);                                              \
  /* A kernel with `barriers` __syncthreads, for timing the executor. */                          \
  void barrier_loop(int blocks, int threads, int barriers, int* out);                             \
  /* Clusters of cluster_blocks blocks of `threads`: out[block][t] = 1000 * (the next block */    \
  /* of the cluster, by rank) + t, read from that block's shared memory (sm_90 clusters). */      \
  void cluster_exchange(int* out, int clusters, int cluster_blocks, int threads, ClusterBug bug); \
  /* out[t * tile_floats + i] = 2 in[t * tile_floats + i] + t: one block of 128 threads, the */   \
  /* tiles bulk-copied by one thread into a ring of 2 shared stages (runtime/bulk_copy.h) and */  \
  /* read by the other 96 (warps 1-3). tile_floats % 4 == 0. */                                   \
  void bulk_copy_ring(const float* in, float* out, int tiles, int tile_floats, BulkCopyBug bug);

namespace simt {
SOMBRERO_SIMT_TEST_KERNELS
}
namespace cuda {
SOMBRERO_SIMT_TEST_KERNELS
}
#undef SOMBRERO_SIMT_TEST_KERNELS

}  // namespace sombrero::simt_test
