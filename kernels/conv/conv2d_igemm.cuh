// The implicit-GEMM machinery shared by the three convolution passes (included by
// conv2d_forward.cu, conv2d_backward_data.cu and conv2d_backward_filter.cu only).
//
// Every pass is one GEMM, C[M][N] = sum_k A[m][k] B[k][n], whose operands are never
// materialised: a pass is a `Problem` that says where element (row, k) of A and of B lives
// in memory (nullptr for a zero: padding, a tap that does not land, past the end) and where
// C[m][n] goes. One kernel template, conv_gemm_kernel<Problem, Config, Vectorized>, runs them:
//
//   block tile BM x BN of C, marching through K in steps of BK;
//   each thread moves 16-byte vectors (8 bf16 or 4 f32) along the operand's contiguous
//   dimension; when `Vectorized` (the host checked that every vector lies inside one
//   contiguous run and is aligned) as cp.async copies straight into a Config::Stages-deep
//   shared-memory pipeline (Stages - 1 K steps in flight while one is multiplied, one
//   __syncthreads per step, zero-fill for padding), else element by element with a
//   predicate each (C = 1, 3, odd ...), packed into the same 16 bytes in registers and
//   stored to one of two shared buffers after the current step's math, so shared memory
//   looks alike in both paths;
//   shared tiles are kept in the operand's memory order, [rows][BK + pad] when the operand
//   is contiguous along k ("k-major"), [BK][rows + pad] when contiguous along its rows; the
//   pad (16 bytes) keeps ldmatrix rows conflict-free and 16-byte aligned;
//   math, by element type:
//     bf16: warps of mma.sync m16n8k16 (f32 accumulators), fragments by ldmatrix
//           (.trans for row-contiguous tiles); Config MmaLarge 128x128x32 with 8 warps as
//           2x4 (warp tile 64x32, 64 accumulators per thread), MmaSmall 64x64x32 with 4
//           warps (warp tile 32x32);
//     f32:  FFMA outer products, 256 threads as 16x16, FfmaLarge 128x128x8 with 8x8 per
//           thread, FfmaSmall 64x64x16 with 4x4 per thread; rows and columns of a thread
//           are strided by 16 so a warp reads consecutive shared words;
//   epilogue: tensor-core tiles whose output rows take 16-byte vectors (gemm_n a multiple of
//   8 bf16 / 4 f32, aligned) are staged as f32 through the freed shared memory and written
//   as whole 16-byte vectors (StagedEpilogue); otherwise, and for FFMA tiles, straight from
//   registers to global memory (row base computed once per row).
//
// Rows of a thread's loads are fixed across K steps, so their decomposition (n, oh, ow ...)
// is computed once and kept in registers (`Row`); k is decomposed once per thread and step
// (`Column`: the tap and channel of k), and a vector's address is Row + Column with two
// bounds compares (TileLoader). The wgmma tiles are issue-bound on this address arithmetic,
// which every thread runs for its cp.async copies between the wgmmas: tools/sass_loop.py
// counts the main loop's instructions per thread and K step (docs/conv.md).
// Measured on an H200 (docs/conv.md, benchmarks/results/2026-11-26-h200*.md): correct on every
// ResNet-50 shape, 0.45-0.8x cuDNN; docs/conv.md lists what is left (TMA and a producer
// warpgroup, clusters, a per-shape tile table, swizzled layouts, fused epilogues).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "kernels/common/fast_divmod.cuh"
#include "kernels/common/numeric.cuh"
#include "kernels/common/vector16.cuh"
#include "kernels/conv/conv2d_kernels.h"
#include "runtime/async_copy.h"
#include "runtime/device_info.h"
#include "runtime/kernel_api.h"
#include "runtime/warp_mma.h"
#include "runtime/warpgroup_mma.h"

namespace sombrero::kernels::SOMBRERO_EXEC::conv_igemm {

// The convolution's geometry as the kernels see it.
struct Geometry {
  int N, H, W, C, K, R, S, OH, OW;
  int stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
};

inline Geometry make_geometry(const Conv2dShape& s) {
  return {s.batch,    s.in_height, s.in_width,     s.in_channels, s.out_channels,
          s.kernel_h, s.kernel_w,  s.out_height(), s.out_width(), s.stride_h,
          s.stride_w, s.pad_top,   s.pad_left,     s.dilation_h,  s.dilation_w};
}

// Validates the shape without the kernels library (the SIMT library links only the runtime).
inline void check_shape(const Conv2dShape& s, const char* pass) {
  SOMBRERO_CHECK(
      s.batch > 0 && s.in_height > 0 && s.in_width > 0 && s.in_channels > 0 && s.out_channels > 0 &&
          s.kernel_h > 0 && s.kernel_w > 0 && s.stride_h > 0 && s.stride_w > 0 &&
          s.dilation_h > 0 && s.dilation_w > 0 && s.pad_top >= 0 && s.pad_bottom >= 0 &&
          s.pad_left >= 0 && s.pad_right >= 0 && s.out_height() > 0 && s.out_width() > 0,
      pass, ": invalid convolution shape N=", s.batch, " H=", s.in_height, " W=", s.in_width,
      " C=", s.in_channels, " K=", s.out_channels, " R=", s.kernel_h, " S=", s.kernel_w,
      " (output ", s.out_height(), "x", s.out_width(), "); see check_conv2d_shape");
  // 32-bit index arithmetic inside the kernels: offsets within w, within a row of pixels,
  // and the row index n H + h of a pixel (pixel_offset).
  const long long weights =
      static_cast<long long>(s.out_channels) * s.kernel_h * s.kernel_w * s.in_channels;
  const long long row = static_cast<long long>(std::max(s.in_width, s.out_width())) *
                        std::max(s.in_channels, s.out_channels);
  const long long pixel_rows =
      static_cast<long long>(s.batch) * (std::max(s.in_height, s.out_height()) + s.pad_top);
  SOMBRERO_CHECK(weights < (1ll << 31) && row < (1ll << 31) && pixel_rows < (1ll << 31), pass,
                 ": too large for the kernels' 32-bit offsets: ", weights, " weights (K R S C), ",
                 row, " elements in a row of pixels, ", pixel_rows,
                 " rows of pixels (N H; at most 2^31 - 1 each)");
}

inline bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

// --- an input pixel under a tap, in the two halves the operands keep apart ----------------

// A coordinate no pixel has: a row or column past the end of its GEMM dimension. Two of
// them add up to -2^30 (no overflow), and a real coordinate (|h| < 2^28) plus one stays
// negative, so the bounds check of window_element rejects it.
inline constexpr int kNowhere = -(1 << 29);

// Where the window of one output pixel starts in a tensor (its top-left pixel h, w, which
// may lie in the padding; offset: of that pixel's channel 0, possibly outside the tensor:
// only ever added to a TapShift's), and how far one tap moves from there. The implicit GEMMs
// hold one in a tile row (registers, across K steps) and compute the other once per K step
// (an index decomposition), so the address of each vector is two adds and two compares.
struct WindowOrigin {
  long long offset = 0;
  int h = kNowhere, w = kNowhere;
};
struct TapShift {
  long long offset = 0;  // (h W + w) channels + the channel
  int h = kNowhere, w = kNowhere;
};

// Offset of channel 0 of pixel (h, w) of image n in an N x H x W x C tensor (h, w may lie
// in the padding). n H + h and W C fit 32 bits (check_shape): one widening multiply.
__device__ __forceinline__ long long pixel_offset(int n, int h, int w, int H, int W, int C) {
  return static_cast<long long>(n * H + h) * (W * C) + w * C;
}

// TapShift::offset of a shift by (h, w) pixels to channel c (W C fits 32 bits, and so does
// w C + c for the small shifts of a tap).
__device__ __forceinline__ long long shift_offset(int h, int w, int c, int W, int C) {
  return static_cast<long long>(h) * (W * C) + (w * C + c);
}

// The shift of tap-and-channel index j = (r S + s) C + c (the KRSC order of w's rows).
__device__ __forceinline__ TapShift tap_shift(const Geometry& g, const FastDivmod& channels,
                                              const FastDivmod& kernel_w, int j) {
  TapShift t;
  int rs, c, tap_r, tap_s;
  channels.divmod(j, rs, c);
  kernel_w.divmod(rs, tap_r, tap_s);
  t.h = tap_r * g.dilation_h;
  t.w = tap_s * g.dilation_w;
  t.offset = shift_offset(t.h, t.w, c, g.W, g.C);
  return t;
}

// The window origin in x of output pixel p = (n OH + oh) OW + ow.
__device__ __forceinline__ WindowOrigin window_origin(const Geometry& g, const FastDivmod& out_w,
                                                      const FastDivmod& out_h, int p) {
  WindowOrigin o;
  int q, ow, n, oh;
  out_w.divmod(p, q, ow);
  out_h.divmod(q, n, oh);
  o.h = oh * g.stride_h - g.pad_top;
  o.w = ow * g.stride_w - g.pad_left;
  o.offset = pixel_offset(n, o.h, o.w, g.H, g.W, g.C);
  return o;
}

// Where an operand's element is: `present` false for a zero (padding, past the end of a
// GEMM dimension), and `pointer` a valid address either way (the element, or the tensor's
// first one), so that a copy is issued with a predicate instead of a null test and a branch.
template <typename T>
struct Located {
  const T* pointer;
  bool present;
  __device__ __forceinline__ const T* address() const { return present ? pointer : nullptr; }
};

// The element at origin + shift of an H x W tensor at `base`.
template <typename T>
__device__ __forceinline__ Located<T> window_element(const T* base, int H, int W,
                                                     const WindowOrigin& origin,
                                                     const TapShift& shift) {
  const int h = origin.h + shift.h, w = origin.w + shift.w;
  const bool present = static_cast<unsigned>(h) < static_cast<unsigned>(H) &&
                       static_cast<unsigned>(w) < static_cast<unsigned>(W);
  return {base + (present ? origin.offset + shift.offset : 0ll), present};
}

// --- tile configurations ------------------------------------------------------------------

// Stages: depth of the cp.async pipeline (vectorized operands; the element path keeps two
// register-staged buffers). Wgmma: the math is warpgroup MMA (sm_90a) on 128B-swizzled
// tiles, else mma.sync / FFMA on padded tiles.
// Async (wgmma only): one K step's wgmmas stay in flight while the next step's are issued
// (wgmma.wait_group 1), so a stage is refilled two steps after it was read, not one.
struct MmaLarge {  // bf16 tensor cores, 8 warps
  static constexpr int BM = 128, BN = 128, BK = 32, WarpsM = 2, WarpsN = 4, Stages = 4;
  static constexpr int Threads = 32 * WarpsM * WarpsN;
  static constexpr bool Wgmma = false, Async = false;
};
struct MmaSmall {  // bf16 tensor cores, 4 warps
  static constexpr int BM = 64, BN = 64, BK = 32, WarpsM = 2, WarpsN = 2, Stages = 4;
  static constexpr int Threads = 32 * WarpsM * WarpsN;
  static constexpr bool Wgmma = false, Async = false;
};
// bf16 wgmma, 2 warpgroups each owning 64 rows x 128 columns (m64n128k16, 64 accumulators
// per thread); BK = 64 is one 128-byte swizzled row per operand row; 3 stages of 32 KB
// (two blocks per SM), each K step's wgmmas waited for before the next (Conv2dWgmmaTile::
// m128_sync).
struct WgmmaLarge {
  static constexpr int BM = 128, BN = 128, BK = 64, Warpgroups = 2, Stages = 3;
  static constexpr int Threads = 128 * Warpgroups;
  static constexpr bool Wgmma = true, Async = false;
};
// The same tile with 4 stages (128 KB, one block per SM) and a K step's wgmmas in flight
// while the next step's are issued (m128_async).
struct WgmmaLargeAsync {
  static constexpr int BM = 128, BN = 128, BK = 64, Warpgroups = 2, Stages = 4;
  static constexpr int Threads = 128 * Warpgroups;
  static constexpr bool Wgmma = true, Async = true;
};
// 256 x 128: each warpgroup owns 128 rows, two m64n128k16 per 16 k (128 accumulators per
// thread); 4 stages of 48 KB (one block per SM). A 16 KB B tile now serves 256 rows: 85
// flops per byte moved into shared memory instead of 64 (m256_async).
struct WgmmaTall {
  static constexpr int BM = 256, BN = 128, BK = 64, Warpgroups = 2, Stages = 4;
  static constexpr int Threads = 128 * Warpgroups;
  static constexpr bool Wgmma = true, Async = true;
};
// 128 x 64 for gemm_n <= 64 (forward and backward-data of 64-channel layers: a 128-column
// tile would multiply as many zero columns as real ones): each warpgroup owns 64 rows x 64
// columns (m64n64k16, 32 accumulators per thread); 4 stages of 24 KB, two blocks per SM
// (82 to 96 registers per thread allow no third) (n64_sync).
struct WgmmaNarrow {
  static constexpr int BM = 128, BN = 64, BK = 64, Warpgroups = 2, Stages = 4;
  static constexpr int Threads = 128 * Warpgroups;
  static constexpr bool Wgmma = true, Async = false;
};
// 64 x 128 for gemm_m <= 64 (backward-filter of 64-output-channel layers): one warpgroup
// owns the whole tile (m64n128k16, 64 accumulators per thread); 3 stages of 24 KB, three
// blocks per SM (144 to 164 registers per thread) (m64_sync).
struct WgmmaShort {
  static constexpr int BM = 64, BN = 128, BK = 64, Warpgroups = 1, Stages = 3;
  static constexpr int Threads = 128 * Warpgroups;
  static constexpr bool Wgmma = true, Async = false;
};
struct FfmaLarge {  // f32 CUDA cores
  static constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8, Stages = 4;
  static constexpr int Threads = (BM / TM) * (BN / TN);
  static constexpr bool Wgmma = false, Async = false;
};
struct FfmaSmall {
  static constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4, Stages = 4;
  static constexpr int Threads = (BM / TM) * (BN / TN);
  static constexpr bool Wgmma = false, Async = false;
};

// --- 16-byte moves (kernels/common/vector16.cuh: __ldg / plain under nvcc, memcpy with an
// alignment check in the SIMT build) ----------------------------------------------------

__device__ __forceinline__ uint4 load_16_bytes(const void* p) {
  return vector16_detail::load_readonly(p);
}

__device__ __forceinline__ void store_16_bytes(void* p, const uint4& v) {
  vector16_detail::store(p, v);
}

// Two consecutive floats in shared memory (8-byte aligned); four: load_four_floats
// (vector16.cuh).
__device__ __forceinline__ void store_two_floats(float* p, float a, float b) {
#if defined(__CUDACC__)
  *reinterpret_cast<float2*>(p) = make_float2(a, b);
#else
  ::sombrero::simt::check_vector_alignment(p, 2 * sizeof(float));
  p[0] = a, p[1] = b;
#endif
}

__device__ __forceinline__ std::uint32_t element_bits(const float* p) {
  return p ? __float_as_uint(*p) : 0u;
}
__device__ __forceinline__ std::uint32_t element_bits(const __nv_bfloat16* p) {
  return p ? static_cast<std::uint32_t>(__bfloat16_as_ushort(*p)) : 0u;
}

// --- one operand's global -> register -> shared path ------------------------------------

// Moves a Rows x BK tile of one operand. `Access` splits an element's address in two:
// `Row row(int)` (what depends on the tile row only, kept in registers across K steps) and
// `Column column(int k)` (what depends on k only: the tap and channel of k, and their
// offset), then `Located<T> locate(const Row&, const Column&)` adds them up (with whether
// the element exists, or is a zero). ContiguousK says along which dimension the operand's
// 16-byte vectors run (k, or rows). All of a thread's vectors share one k (`Loads` rows, one
// column per K step): the index decompositions are done once per thread and step, not once
// per vector (the per-vector address is a few adds and two compares; before, the main loop
// of the forward wgmma tile was 347 instructions per thread and step, backward-data's 538).
// Swizzled: the wgmma layout instead of the padded one, [Rows][64] bf16 with 16-byte chunk
// j of row r at chunk j ^ (r % 8) (runtime/warpgroup_mma.h; the tile 1024-byte aligned),
// for k-major operands.
template <typename T, class Access, int Rows, int BK, int Threads, bool ContiguousK,
          bool Vectorized, bool Swizzled = false>
struct TileLoader {
  static constexpr int V = 16 / static_cast<int>(sizeof(T));  // elements per vector
  static constexpr int Vectors = Rows * BK / V;
  static constexpr int Loads = Vectors / Threads;  // vectors per thread per K step
  static_assert(Vectors % Threads == 0, "tile must split evenly into 16-byte vectors");
  static_assert(!Swizzled || (sizeof(T) == 2 && BK == 64 && Rows % 64 == 0),
                "the 128B-swizzled layouts hold bf16 rows of 64 (k-major) or 64-wide atoms");
  // Leading dimension: padded by one vector (ldmatrix rows conflict-free), or none.
  static constexpr int Stride = (ContiguousK ? BK : Rows) + (Swizzled ? 0 : V);
  static constexpr int Elements = (ContiguousK ? Rows : BK) * Stride;
  // Vectors per line of the tile (a row of BK k-major, a k of Rows MN-major).
  static constexpr int PerLine = ContiguousK ? BK / V : Rows / V;
  // Which vectors a thread moves: all of them at one k, so that the column (k's tap and
  // channel) is computed once per thread and step. k-major: vector v = thread + i Threads
  // is line (row) v / PerLine, position v % PerLine, and Threads is a multiple of PerLine,
  // so the position (k) is the thread's for every i. MN-major: the thread's Loads vectors
  // lie in one line (one k), at positions p, p + Spacing, ... with Spacing threads per line:
  // a warp instruction still covers whole 32-byte sectors (Spacing x 16 contiguous bytes
  // per line), and every line is covered after Loads instructions.
  static constexpr int Spacing = ContiguousK ? PerLine : PerLine / Loads;
  static_assert(ContiguousK ? Threads % PerLine == 0 : PerLine % Loads == 0,
                "a thread's vectors must share their k");

  typename Access::Row rows[Loads];
  int row_offset[Loads];
  int k_offset;  // the k of all of this thread's vectors, from the step's first
  uint4 staged[Loads];

  __device__ __forceinline__ void init(const Access& access, int tile_row0, int thread) {
#pragma unroll
    for (int i = 0; i < Loads; ++i) {
      row_offset[i] = ContiguousK ? thread / PerLine + i * (Threads / PerLine)
                                  : (thread % Spacing + i * Spacing) * V;
      rows[i] = access.row(tile_row0 + row_offset[i]);
    }
    k_offset = ContiguousK ? (thread % PerLine) * V : thread / Spacing;
  }

  // Vector i of this thread in the K step whose column (the same for all i) is `column`.
  __device__ __forceinline__ Located<T> vector_at(const Access& access, int i,
                                                  const typename Access::Column& column) const {
    return access.locate(rows[i], column);
  }
  __device__ __forceinline__ typename Access::Column column(const Access& access, int k0) const {
    return access.column(k0 + k_offset);
  }

  // Global -> registers for the K step starting at k0.
  __device__ __forceinline__ void load(const Access& access, int tile_row0, int k0) {
    if constexpr (Vectorized) {
      const typename Access::Column step_column = column(access, k0);
#pragma unroll
      for (int i = 0; i < Loads; ++i) {
        const Located<T> v = vector_at(access, i, step_column);
        staged[i] = v.present ? load_16_bytes(v.pointer) : make_uint4(0u, 0u, 0u, 0u);
      }
    } else {
#pragma unroll
      for (int i = 0; i < Loads; ++i) {
        const int k = k0 + k_offset;
        std::uint32_t bits[V];
#pragma unroll
        for (int e = 0; e < V; ++e) {
          if constexpr (ContiguousK)
            bits[e] = element_bits(access.locate(rows[i], access.column(k + e)).address());
          else
            bits[e] = element_bits(
                access.locate(access.row(tile_row0 + row_offset[i] + e), access.column(k))
                    .address());
        }
        if constexpr (V == 4) {
          staged[i] = make_uint4(bits[0], bits[1], bits[2], bits[3]);
        } else {
          staged[i] = make_uint4(bits[0] | (bits[1] << 16), bits[2] | (bits[3] << 16),
                                 bits[4] | (bits[5] << 16), bits[6] | (bits[7] << 16));
        }
      }
    }
  }

  // Where vector i of this thread goes in a shared tile (elements).
  __device__ __forceinline__ int shared_offset(int i) const {
    if constexpr (Swizzled) {
      const auto row = static_cast<std::uint32_t>(row_offset[i]);
      const auto k = static_cast<std::uint32_t>(k_offset);
      // k-major: rows of 64 k; MN-major: 8 k x 64 rows atoms, 64-row ranges BK * 128 B apart.
      return static_cast<int>(ContiguousK ? runtime::swizzle128_offset(row, k)
                                          : runtime::swizzle128_mn_offset(k, row, BK * 128)) /
             2;
    }
    return ContiguousK ? row_offset[i] * Stride + k_offset : k_offset * Stride + row_offset[i];
  }

  // Registers -> shared tile.
  __device__ __forceinline__ void store(T* tile) const {
#pragma unroll
    for (int i = 0; i < Loads; ++i) store_16_bytes(tile + shared_offset(i), staged[i]);
  }

  // Global -> shared tile directly, asynchronously (vectorized operands only): the K step
  // starting at k0; zeros where the operand has none. Lands at the caller's cp_async_wait.
  __device__ __forceinline__ void copy_async(const Access& access, int k0, T* tile) const {
    static_assert(Vectorized, "cp.async moves whole 16-byte vectors");
    const typename Access::Column step_column = column(access, k0);
#pragma unroll
    for (int i = 0; i < Loads; ++i) {
      const Located<T> v = vector_at(access, i, step_column);
      runtime::cp_async_16(tile + shared_offset(i), v.pointer, v.present);
    }
  }
};

// --- math ---------------------------------------------------------------------------------

// bf16 tensor cores: a warp owns a WM x WN piece of the block tile, as MT x NT mma tiles.
template <class Config, bool AContiguousK, bool BContiguousK, int StrideA, int StrideB>
struct MmaMath {
  static constexpr int WM = Config::BM / Config::WarpsM, WN = Config::BN / Config::WarpsN;
  static constexpr int MT = WM / 16, NT = WN / 8;
  static_assert(WM % 16 == 0 && WN % 16 == 0, "warp tile must be whole m16 x n16 pieces");
  float acc[MT][NT][4];
  int warp_m, warp_n, lane;

  __device__ __forceinline__ void init(int thread) {
    const int warp = thread / 32;
    lane = thread % 32;
    warp_m = warp % Config::WarpsM;
    warp_n = warp / Config::WarpsM;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.0f;
  }

  __device__ __forceinline__ void compute(const __nv_bfloat16* a_tile,
                                          const __nv_bfloat16* b_tile) {
#pragma unroll
    for (int kk = 0; kk < Config::BK; kk += 16) {
      std::uint32_t a[MT][4], b[NT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const int m = warp_m * WM + mt * 16;
        // Matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (8-15, 8-15).
        if constexpr (AContiguousK) {
          runtime::ldmatrix_x4(a[mt], a_tile + (m + lane % 16) * StrideA + kk + (lane / 16) * 8);
        } else {
          runtime::ldmatrix_x4_trans(
              a[mt], a_tile + (kk + lane % 8 + (lane / 16) * 8) * StrideA + m + (lane / 8) % 2 * 8);
        }
      }
#pragma unroll
      for (int nt = 0; nt < NT; nt += 2) {
        const int n = warp_n * WN + nt * 8;
        // Matrices (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15).
        const int j = lane / 8;
        std::uint32_t r[4];
        if constexpr (BContiguousK) {
          runtime::ldmatrix_x4(r,
                               b_tile + (n + lane % 8 + (j / 2) * 8) * StrideB + kk + (j % 2) * 8);
        } else {
          runtime::ldmatrix_x4_trans(
              r, b_tile + (kk + lane % 8 + (j % 2) * 8) * StrideB + n + (j / 2) * 8);
        }
        b[nt][0] = r[0];
        b[nt][1] = r[1];
        b[nt + 1][0] = r[2];
        b[nt + 1][1] = r[3];
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
          runtime::mma_m16n8k16_bf16(acc[mt][nt], a[mt], b[nt], acc[mt][nt]);
    }
  }

  // Writes the accumulators into an f32 [BM][Stride] shared tile. Each lane holds column
  // pairs (2t, 2t+1) of rows g and g + 8: float2 stores; with Stride = BN + 8 the 16 lanes
  // of a 64-bit store phase hit 32 distinct banks.
  template <int Stride>
  __device__ __forceinline__ void stage(float* tile) const {
    const int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float* row = tile + (warp_m * WM + mt * 16 + g + half * 8) * Stride + warp_n * WN + 2 * t;
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
          store_two_floats(row + nt * 8, acc[mt][nt][2 * half], acc[mt][nt][2 * half + 1]);
      }
  }

  // Calls out(m, n, value) for every accumulator, m and n relative to the block tile; rows
  // first (out.row(m) once per row).
  template <class Out>
  __device__ __forceinline__ void epilogue(Out& out) const {
    const int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int m = warp_m * WM + mt * 16 + g + half * 8;
        const long long base = out.row(m);
        if (base < 0) continue;
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
          for (int i = 0; i < 2; ++i)
            out.store(base, warp_n * WN + nt * 8 + 2 * t + i, acc[mt][nt][2 * half + i]);
      }
  }
};

// bf16 wgmma (sm_90a): warpgroup wg owns rows 64 MT wg .. 64 MT (wg + 1) - 1 (MT = BM / 64
// per warpgroup's m64 tiles: 1 or 2) and all BN columns of the block tile (64 or 128), one
// m64nBNk16 per m64 tile and 16 k; the operands are the swizzled tiles themselves (no fragments in
// registers), each k-major (AK / BK: rows of 64 k; a 16-wide k slice starts 32 bytes further
// in every row) or MN-major (transposed: atoms of 8 k x 64 rows, a k slice is two atoms, 2 KB
// further; 64-row ranges BK * 128 bytes apart, the descriptor's LBO); 8-row (8-k) groups 1024
// bytes apart (SBO). Synchronous configs wait for a K step's wgmmas before returning (the
// stage a step read is free once every thread passed the next step's barrier, as for
// mma.sync); Async ones leave the step in flight (wait_group 1: the previous step's are done)
// and finish() waits for the last. Accumulator register i of m64 tile mt of thread (warp w
// of the warpgroup, lane g * 4 + t): row 64 (MT wg + mt) + 16 w + g + 8 ((i / 2) % 2),
// column 8 (i / 4) + 2 t + i % 2.
template <class Config, bool AContiguousK, bool BContiguousK>
struct WgmmaMath {
  static constexpr int MT = Config::BM / (64 * Config::Warpgroups);
  static_assert(MT >= 1 && Config::BM == 64 * MT * Config::Warpgroups &&
                    (Config::BN == 64 || Config::BN == 128) && Config::BK == 64,
                "m64n64 or m64n128 wgmmas per warpgroup and 16 k");
  static constexpr std::uint32_t AtomStride = Config::BK * 128;  // bytes per 64 MN-major rows
  // Bytes from one 64-row range of A to the next: 64 k-major rows, or one MN-major range.
  static constexpr std::uint32_t ARangeStride = AContiguousK ? 64 * 128 : AtomStride;
  float acc[MT][Config::BN / 2];
  int warpgroup, warp, lane;

  __device__ __forceinline__ void init(int thread) {
    warpgroup = thread / 128;
    warp = (thread / 32) % 4;
    lane = thread % 32;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int i = 0; i < Config::BN / 2; ++i) acc[mt][i] = 0.0f;
  }

  // Bytes from a tile's start to its k slice `slice`: 32 along a k-major row, two 8-k atoms
  // (2 KB) in an MN-major tile.
  template <bool ContiguousK>
  __device__ __forceinline__ static constexpr std::uint32_t descriptor_offset(int slice) {
    return static_cast<std::uint32_t>(slice) * (ContiguousK ? 32u : 2048u);
  }
  // Descriptor of a tile at shared address `tile` (its first k slice).
  template <bool ContiguousK>
  __device__ __forceinline__ static std::uint64_t descriptor(std::uint32_t tile) {
    return runtime::wgmma_descriptor(tile, ContiguousK ? 16u : AtomStride, 1024,
                                     runtime::WgmmaSwizzle::bytes128);
  }

  __device__ __forceinline__ void fence_accumulators() {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) runtime::wgmma_fence_accumulators(acc[mt]);
  }

  __device__ __forceinline__ void compute(const __nv_bfloat16* a_tile,
                                          const __nv_bfloat16* b_tile) {
    // This warpgroup's MT 64-row ranges of A.
    const std::uint32_t a = runtime::shared_address(a_tile) + warpgroup * MT * ARangeStride;
    const std::uint32_t b = runtime::shared_address(b_tile);
    // Every slice's descriptor is the tile's plus a constant in the address field (address
    // >> 4 in bits 0-13: shared addresses stay below 256 KB, so the sum never carries out
    // of it): one add each instead of rebuilding the fields per slice.
    const std::uint64_t base_a = descriptor<AContiguousK>(a);
    const std::uint64_t base_b = descriptor<BContiguousK>(b);
    fence_accumulators();
    runtime::wgmma_fence();
#pragma unroll
    for (int slice = 0; slice < Config::BK / 16; ++slice)
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const std::uint64_t desc_a =
            base_a + ((descriptor_offset<AContiguousK>(slice) + mt * ARangeStride) >> 4);
        const std::uint64_t desc_b = base_b + (descriptor_offset<BContiguousK>(slice) >> 4);
        if constexpr (Config::BN == 64)
          runtime::wgmma_m64n64k16_bf16<AContiguousK ? 0 : 1, BContiguousK ? 0 : 1>(acc[mt], desc_a,
                                                                                    desc_b, 1);
        else
          runtime::wgmma_m64n128k16_bf16<AContiguousK ? 0 : 1, BContiguousK ? 0 : 1>(
              acc[mt], desc_a, desc_b, 1);
      }
    runtime::wgmma_commit();
    runtime::wgmma_wait<Config::Async ? 1 : 0>();
    fence_accumulators();
  }

  // Waits for the wgmmas still in flight (Async configs) before the accumulators are read.
  __device__ __forceinline__ void finish() {
    if constexpr (Config::Async) {
      runtime::wgmma_wait<0>();
      fence_accumulators();
    }
  }

  __device__ __forceinline__ int row(int mt, int i) const {
    return 64 * (MT * warpgroup + mt) + 16 * warp + lane / 4 + 8 * ((i / 2) % 2);
  }
  __device__ __forceinline__ int column(int i) const {
    return 8 * (i / 4) + 2 * (lane % 4);
  }

  // As MmaMath::stage: column pairs as float2 stores into an f32 [BM][Stride] tile.
  template <int Stride>
  __device__ __forceinline__ void stage(float* tile) const {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int i = 0; i < Config::BN / 2; i += 2)
        store_two_floats(tile + row(mt, i) * Stride + column(i), acc[mt][i], acc[mt][i + 1]);
  }

  template <class Out>
  __device__ __forceinline__ void epilogue(Out& out) const {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int half = 0; half < 2; ++half) {  // rows g and g + 8
        const long long base = out.row(row(mt, 2 * half));
        if (base < 0) continue;
#pragma unroll
        for (int i = 2 * half; i < Config::BN / 2; i += 4) {
          out.store(base, column(i), acc[mt][i]);
          out.store(base, column(i) + 1, acc[mt][i + 1]);
        }
      }
  }
};

// f32 FFMA: thread (ty, tx) of a 16 x 16 grid owns rows ty + 16 i and columns tx + 16 j.
template <class Config, bool AContiguousK, bool BContiguousK, int StrideA, int StrideB>
struct FfmaMath {
  static constexpr int TM = Config::TM, TN = Config::TN;
  static constexpr int RowThreads = Config::BM / TM, ColumnThreads = Config::BN / TN;
  float acc[TM][TN];
  int ty, tx;

  __device__ __forceinline__ void init(int thread) {
    ty = thread / ColumnThreads;
    tx = thread % ColumnThreads;
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
  }

  __device__ __forceinline__ void compute(const float* a_tile, const float* b_tile) {
#pragma unroll
    for (int k = 0; k < Config::BK; ++k) {
      float a[TM], b[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) {
        const int m = ty + i * RowThreads;
        a[i] = AContiguousK ? a_tile[m * StrideA + k] : a_tile[k * StrideA + m];
      }
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int n = tx + j * ColumnThreads;
        b[j] = BContiguousK ? b_tile[n * StrideB + k] : b_tile[k * StrideB + n];
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
  }

  template <class Out>
  __device__ __forceinline__ void epilogue(Out& out) const {
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const long long base = out.row(ty + i * RowThreads);
      if (base < 0) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) out.store(base, tx + j * ColumnThreads, acc[i][j]);
    }
  }
};

template <typename T, class Config, bool AContiguousK, bool BContiguousK, int StrideA, int StrideB>
struct MathFor;
template <class Config, bool AK, bool BK, int SA, int SB>
struct MathFor<__nv_bfloat16, Config, AK, BK, SA, SB> {
  using type =
      std::conditional_t<Config::Wgmma, WgmmaMath<Config, AK, BK>, MmaMath<Config, AK, BK, SA, SB>>;
};
template <class Config, bool AK, bool BK, int SA, int SB>
struct MathFor<float, Config, AK, BK, SA, SB> {
  using type = FfmaMath<Config, AK, BK, SA, SB>;
};

// Bounds-checked output of one block tile: m, n relative to the tile.
template <class Problem>
struct TileOutput {
  const Problem& problem;
  int m0, n0, split;
  __device__ __forceinline__ long long row(int m) const {
    return m0 + m < problem.gemm_m ? problem.output_row(m0 + m, split) : -1;
  }
  __device__ __forceinline__ void store(long long base, int n, float value) const {
    if (n0 + n < problem.gemm_n) problem.store(base, n0 + n, value);
  }
};

// The tensor-core epilogue through shared memory: the accumulators are staged as an f32
// tile, then each thread writes whole 16-byte vectors of the output (8 bf16 or 4 f32) along
// its contiguous dimension, a warp covering 512 contiguous bytes of one or two rows, instead
// of the fragments' scattered 4-byte pieces. Needs problem.vector_output (the host checked
// gemm_n % vector == 0 and alignment) and the pipeline's shared memory, free again here.
template <class Config>
struct StagedEpilogue {
  static constexpr int Stride = Config::BN + 8;  // floats per staged row
  // The staged tile, then 2 BN floats of scratch for the statistics' two row halves.
  static constexpr std::size_t SharedBytes = sizeof(float) * (Config::BM * Stride + 2 * Config::BN);

  // BatchNorm statistics of the tile's output (problem.statistics, conv2d_kernels.h): per
  // column, the sum and the centred sum of squares of the values as stored (rounded to the
  // output type), over the tile's valid rows. Two workers per column, each summing half of
  // the rows in order, combined in a fixed order: deterministic, and the same sums whatever
  // the tile's width (a thread is worker `thread` and, when the block has fewer than 2 BN
  // threads, also worker `thread + Threads`; with more, the extra threads only pass the
  // barriers). A 256-row tile writes two statistics tiles of 128 rows (one per half), so the
  // statistics' tile rows are 128 for the large, narrow and tall tiles alike.
  static constexpr int kStatisticsWorkers = 2 * Config::BN;
  static constexpr int kWorkersPerThread =
      (kStatisticsWorkers + Config::Threads - 1) / Config::Threads;

  template <class Problem>
  __device__ __forceinline__ static void write_statistics(const Problem& problem, const float* tile,
                                                          float* scratch, int m0, int n0,
                                                          int thread) {
    using Output = typename Problem::Output;
    const int rows = min(Config::BM, problem.gemm_m - m0);
    if constexpr (Config::BM == 2 * kConv2dLargeTile) {  // each half its own statistics tile
      static_assert(Config::Threads == kStatisticsWorkers, "one worker per thread");
      const int n = thread % Config::BN, half = thread / Config::BN;
      const int begin = half * (Config::BM / 2), end = min(begin + Config::BM / 2, rows);
      float sum = 0.0f;
      for (int m = begin; m < end; ++m) sum += to_float(from_float<Output>(tile[m * Stride + n]));
      if (end <= begin || n0 + n >= problem.gemm_n) return;
      const float mean = sum / static_cast<float>(end - begin);
      float squares = 0.0f;
      for (int m = begin; m < end; ++m) {
        const float d = to_float(from_float<Output>(tile[m * Stride + n])) - mean;
        squares = fmaf(d, d, squares);
      }
      float* out =
          problem.statistics + (2 * std::int64_t(blockIdx.x) + half) * 2 * problem.gemm_n + n0 + n;
      out[0] = sum;
      out[problem.gemm_n] = squares;
      return;
    } else {
      // Worker w: column w % BN, rows [begin, end) of half w / BN.
      const auto rows_of = [&](int w, int& begin, int& end) {
        begin = (w / Config::BN) * (Config::BM / 2);
        end = min(begin + Config::BM / 2, rows);
      };
      for (int j = 0; j < kWorkersPerThread; ++j) {
        const int w = thread + j * Config::Threads;
        if (w >= kStatisticsWorkers) break;
        int begin, end;
        rows_of(w, begin, end);
        float sum = 0.0f;
        for (int m = begin; m < end; ++m)
          sum += to_float(from_float<Output>(tile[m * Stride + w % Config::BN]));
        scratch[w] = sum;  // = scratch[half * BN + n]
      }
      __syncthreads();
      float squares[kWorkersPerThread], totals[kWorkersPerThread];
      for (int j = 0; j < kWorkersPerThread; ++j) {
        const int w = thread + j * Config::Threads;
        squares[j] = totals[j] = 0.0f;
        if (w >= kStatisticsWorkers) break;
        const int n = w % Config::BN;
        int begin, end;
        rows_of(w, begin, end);
        totals[j] = scratch[n] + scratch[Config::BN + n];
        const float mean = totals[j] / static_cast<float>(rows);
        for (int m = begin; m < end; ++m) {
          const float d = to_float(from_float<Output>(tile[m * Stride + n])) - mean;
          squares[j] = fmaf(d, d, squares[j]);
        }
      }
      __syncthreads();  // everyone has read the sums
      for (int j = 0; j < kWorkersPerThread; ++j) {
        const int w = thread + j * Config::Threads;
        if (w < kStatisticsWorkers) scratch[w] = squares[j];
      }
      __syncthreads();
      for (int j = 0; j < kWorkersPerThread; ++j) {
        const int w = thread + j * Config::Threads, n = w % Config::BN;
        if (w >= Config::BN || n0 + n >= problem.gemm_n) break;  // half 0's workers write
        float* out = problem.statistics + std::int64_t(blockIdx.x) * 2 * problem.gemm_n + n0 + n;
        out[0] = totals[j];
        out[problem.gemm_n] = scratch[n] + scratch[Config::BN + n];
      }
    }
  }

  // Backward-data fused with a BatchNorm's backward sums (problem.gradient_partials,
  // conv2d_kernels.h): each thread writes its vectors of the staged tile as run() does, but
  // through store_gradient_vector (the masked gradient g, rounded as stored, and the
  // BatchNorm's input x there), and sums g and g (x - mean) per column over its rows of each
  // statistics tile (128 rows; a 256-row tile has two). A thread's vectors all lie in one
  // column group (Threads is a multiple of the vectors per row), so its sums stay in
  // registers; the lanes sharing a group add theirs by shuffles, then the warps' sums are
  // added in warp order through the staged tile's memory: a fixed order, deterministic.
  template <class Problem>
  __device__ __forceinline__ static void write_with_gradient_partials(const Problem& problem,
                                                                      float* tile, int m0, int n0,
                                                                      int thread) {
    using Output = typename Problem::Output;
    constexpr int V = 16 / static_cast<int>(sizeof(Output));
    constexpr int RowVectors = Config::BN / V;  // vectors per tile row
    constexpr int RowStep = Config::Threads / RowVectors;
    constexpr int TileRows = Config::BM == 2 * kConv2dLargeTile ? kConv2dLargeTile : Config::BM;
    constexpr int Parts = Config::BM / TileRows;
    constexpr int Warps = Config::Threads / 32;
    static_assert(Config::Threads % RowVectors == 0 && 32 % RowVectors == 0,
                  "a thread's vectors share one column group, and a warp holds whole groups");
    static_assert(TileRows % RowStep == 0, "every thread has as many rows in each tile");
    static_assert(Parts * 2 * Warps * Config::BN <= Config::BM * Stride,
                  "the warps' sums fit where the tile was staged");
    const int column = (thread % RowVectors) * V;
    const bool column_valid = n0 + column < problem.gemm_n;  // gemm_n is a multiple of V
    float mean[V];
    for (int e = 0; e < V; ++e) mean[e] = column_valid ? problem.bn_mean[n0 + column + e] : 0.0f;
    float sums[Parts][2][V];
    for (int part = 0; part < Parts; ++part)
      for (int e = 0; e < V; ++e) sums[part][0][e] = sums[part][1][e] = 0.0f;
    // A thread's rows of a tile in batches of Batch vectors: the batch's global loads (x, the
    // ReLU's output unless recomputed from x, dx when accumulating) go out together before its
    // first store, not one vector's after the previous one's store (a chain of memory
    // latencies otherwise).
    constexpr int Rows = TileRows / RowStep, Batch = Rows < 4 ? Rows : 4;
    static_assert(Rows % Batch == 0, "whole batches");
#pragma unroll
    for (int part = 0; part < Parts; ++part) {
#pragma unroll
      for (int i0 = 0; i0 < Rows; i0 += Batch) {
        long long rows[Batch];
        typename Problem::GradientInputs inputs[Batch];
#pragma unroll
        for (int b = 0; b < Batch; ++b) {
          const int m = part * TileRows + thread / RowVectors + (i0 + b) * RowStep;
          rows[b] = column_valid && m0 + m < problem.gemm_m ? problem.output_row(m0 + m, 0) : -1;
          if (rows[b] >= 0) problem.load_gradient_inputs(rows[b], n0 + column, inputs[b]);
        }
#pragma unroll
        for (int b = 0; b < Batch; ++b) {
          if (rows[b] < 0) continue;
          const int m = part * TileRows + thread / RowVectors + (i0 + b) * RowStep;
          float values[V], g[V], x[V];
#pragma unroll
          for (int e = 0; e < V; e += 4)
            load_four_floats(tile + m * Stride + column + e, values + e);
          problem.store_gradient_vector(rows[b], n0 + column, values, inputs[b], g, x);
          for (int e = 0; e < V; ++e) {
            sums[part][0][e] += g[e];
            sums[part][1][e] = fmaf(g[e], x[e] - mean[e], sums[part][1][e]);
          }
        }
      }
    }
    // Lanes lane, lane + RowVectors, ... hold the same columns.
    for (int part = 0; part < Parts; ++part)
      for (int s = 0; s < 2; ++s)
        for (int e = 0; e < V; ++e)
          for (int offset = RowVectors; offset < 32; offset *= 2)
            sums[part][s][e] += __shfl_xor_sync(0xffffffffu, sums[part][s][e], offset);
    __syncthreads();                // every thread is done reading the staged tile
    float* const warp_sums = tile;  // [Parts][2][Warps][BN]
    const int warp = thread / 32;
    if (thread % 32 < RowVectors)
      for (int part = 0; part < Parts; ++part)
        for (int s = 0; s < 2; ++s)
          for (int e = 0; e < V; ++e)
            warp_sums[((part * 2 + s) * Warps + warp) * Config::BN + column + e] = sums[part][s][e];
    __syncthreads();
    for (int i = thread; i < Parts * 2 * Config::BN; i += Config::Threads) {
      const int part = i / (2 * Config::BN), s = (i / Config::BN) % 2, n = i % Config::BN;
      // No statistics tile past the rows (a 256-row tile's empty half), none past the columns.
      if (m0 + part * TileRows >= problem.gemm_m || n0 + n >= problem.gemm_n) continue;
      float total = 0.0f;
      for (int w = 0; w < Warps; ++w)
        total += warp_sums[((part * 2 + s) * Warps + w) * Config::BN + n];
      const std::int64_t t = problem.partial_tile_offset + std::int64_t(blockIdx.x) * Parts + part;
      problem.gradient_partials[(2 * t + s) * problem.gemm_n + n0 + n] = total;
    }
  }

  template <class Problem, class Math>
  __device__ __forceinline__ static void run(const Problem& problem, const Math& math, float* tile,
                                             int m0, int n0, int split, int thread) {
    using Output = typename Problem::Output;
    constexpr int V = 16 / static_cast<int>(sizeof(Output));
    constexpr int RowVectors = Config::BN / V;
    constexpr int Vectors = Config::BM * RowVectors;
    static_assert(Vectors % Config::Threads == 0, "tile must split evenly into vectors");
    __syncthreads();  // every warp is done reading the last pipeline stage
    math.template stage<Stride>(tile);
    __syncthreads();
    if constexpr (requires { problem.gradient_partials; }) {
      if (problem.gradient_partials != nullptr) {  // uniform across the grid
        write_with_gradient_partials(problem, tile, m0, n0, thread);
        return;
      }
    }
    if constexpr (requires { problem.statistics; }) {
      if (problem.statistics != nullptr)  // uniform across the grid
        write_statistics(problem, tile, tile + Config::BM * Stride, m0, n0, thread);
    }
#pragma unroll
    for (int i = 0; i < Vectors / Config::Threads; ++i) {
      const int v = thread + i * Config::Threads;
      const int m = v / RowVectors, n = (v % RowVectors) * V;
      if (m0 + m >= problem.gemm_m || n0 + n >= problem.gemm_n) continue;
      float values[V];
#pragma unroll
      for (int e = 0; e < V; e += 4) load_four_floats(tile + m * Stride + n + e, values + e);
      problem.store_vector(problem.output_row(m0 + m, split), n0 + n, values);
    }
  }
};

// Shared bytes of the staged epilogue: the tensor-core configs stage their output tile;
// the FFMA ones (TM x TN outputs per thread) write straight from registers.
template <class Config>
struct StagedEpilogueBytes {
  static constexpr std::size_t value = [] {
    if constexpr (requires { Config::TM; })
      return std::size_t{0};
    else
      return StagedEpilogue<Config>::SharedBytes;
  }();
};

// --- the kernel ---------------------------------------------------------------------------

template <class Problem, class Config>
struct KernelTraits {
  using T = typename Problem::Element;
  template <bool Vectorized>
  using LoaderA = TileLoader<T, typename Problem::AAccess, Config::BM, Config::BK, Config::Threads,
                             Problem::AContiguousK, Vectorized, Config::Wgmma>;
  template <bool Vectorized>
  using LoaderB = TileLoader<T, typename Problem::BAccess, Config::BN, Config::BK, Config::Threads,
                             Problem::BContiguousK, Vectorized, Config::Wgmma>;
  static constexpr int AElements = LoaderA<true>::Elements;
  static constexpr int StageElements = LoaderA<true>::Elements + LoaderB<true>::Elements;
  // wgmma tiles start on a 1024-byte boundary of the shared state space (the swizzle
  // pattern's period): the pipeline starts up to 1008 bytes into the allocation.
  static constexpr std::size_t AlignmentSlack = Config::Wgmma ? 1024 : 0;
  static_assert(!Config::Wgmma || ((StageElements * sizeof(T)) % 1024 == 0 &&
                                   (AElements * sizeof(T)) % 1024 == 0),
                "every wgmma tile must stay 1024-byte aligned");
  // cp.async pipeline of Config::Stages stages when vectorized, else two buffers.
  static constexpr int stages(bool vectorized) { return vectorized ? Config::Stages : 2; }
  // The pipeline's stages, or the staged epilogue's tile (tensor-core configs) if larger.
  static constexpr std::size_t shared_bytes(bool vectorized) {
    const std::size_t pipeline =
        static_cast<std::size_t>(stages(vectorized)) * StageElements * sizeof(T) + AlignmentSlack;
    return pipeline > StagedEpilogueBytes<Config>::value ? pipeline
                                                         : StagedEpilogueBytes<Config>::value;
  }
  using Math = typename MathFor<T, Config, Problem::AContiguousK, Problem::BContiguousK,
                                LoaderA<true>::Stride, LoaderB<true>::Stride>::type;
};

// The pipeline's start in dynamic shared memory: the allocation's start, or for wgmma
// configs the first 1024-byte boundary of the shared state space in it.
template <class Config, typename T>
__device__ __forceinline__ T* pipeline_start(uint4* shared) {
  if constexpr (Config::Wgmma) {
    const std::uint32_t address = runtime::shared_address(shared);
    return reinterpret_cast<T*>(reinterpret_cast<std::uint8_t*>(shared) +
                                (1024u - address % 1024u) % 1024u);
  } else {
    return reinterpret_cast<T*>(shared);
  }
}

// Writes the block's tile: staged through shared memory as 16-byte vectors when the
// problem allows it and the config is a tensor-core one, else straight from registers.
template <class Config, class Problem, class Math>
__device__ __forceinline__ void write_output(const Problem& problem, const Math& math,
                                             float* shared, int m0, int n0, int split, int thread) {
  if constexpr (StagedEpilogueBytes<Config>::value > 0) {
    if (problem.vector_output) {  // uniform across the grid
      StagedEpilogue<Config>::run(problem, math, shared, m0, n0, split, thread);
      return;
    }
  }
  TileOutput<Problem> out{problem, m0, n0, split};
  math.epilogue(out);
}

// grid (ceil(M / BM), ceil(N / BN), splits); block z sums k in [z * k_chunk, (z+1) * k_chunk).
template <class Problem, class Config, bool Vectorized>
__global__ void __launch_bounds__(Config::Threads) conv_gemm_kernel(Problem problem, int k_chunk) {
  using Traits = KernelTraits<Problem, Config>;
  using T = typename Traits::T;
  using LoaderA = typename Traits::template LoaderA<Vectorized>;
  using LoaderB = typename Traits::template LoaderB<Vectorized>;
  static_assert(!Config::Wgmma || Vectorized, "wgmma tiles are filled by cp.async only");
  SOMBRERO_DYNAMIC_SHARED(uint4, shared);
  T* const stages = pipeline_start<Config, T>(shared);  // stages of StageElements: A, then B

  const int thread = static_cast<int>(threadIdx.x);
  const int m0 = static_cast<int>(blockIdx.x) * Config::BM;
  const int n0 = static_cast<int>(blockIdx.y) * Config::BN;
  const int split = static_cast<int>(blockIdx.z);
  const int k0 = split * k_chunk;  // this block's range of k: [k0, k_end)
  const int k_end = min(k0 + k_chunk, problem.gemm_k);
  const int steps = k_end > k0 ? (k_end - k0 + Config::BK - 1) / Config::BK : 0;

  LoaderA loader_a;
  LoaderB loader_b;
  loader_a.init(problem.a, m0, thread);
  loader_b.init(problem.b, n0, thread);
  typename Traits::Math math;
  math.init(thread);

  if constexpr (Vectorized) {
    // cp.async pipeline: step s lives in stage s % Stages, `Ahead` K steps of copies in
    // flight while one is multiplied; one commit group per step (empty past the end, so the
    // wait count stays uniform); one barrier per step, which publishes step s and frees the
    // stage that step s + Ahead refills. Synchronous math (mma.sync, FFMA, m128_sync wgmma)
    // is done with step s - 1 by then: Ahead = Stages - 1. Async wgmma leaves step s - 1 in
    // flight, but every thread passed its wgmma_wait<1> in step s - 1, so step s - 2's stage
    // is free: Ahead = Stages - 2.
    constexpr int Stages = Config::Stages;
    constexpr int Ahead = Config::Async ? Stages - 2 : Stages - 1;
    static_assert(Ahead >= 1, "a stage in use while the copies of another land");
    auto stage = [&](int s) { return stages + (s % Stages) * Traits::StageElements; };
    auto copy_step = [&](int s) {
      if (s < steps) {
        loader_a.copy_async(problem.a, k0 + s * Config::BK, stage(s));
        loader_b.copy_async(problem.b, k0 + s * Config::BK, stage(s) + LoaderA::Elements);
      }
      runtime::cp_async_commit();
    };
#pragma unroll
    for (int s = 0; s < Ahead; ++s) copy_step(s);
    for (int step = 0; step < steps; ++step) {
      runtime::cp_async_wait<Ahead - 1>();  // this thread's copies of `step` have landed
      // wgmma reads shared memory through the async proxy: order the landed copies first.
      if constexpr (Config::Wgmma) runtime::fence_proxy_async_shared();
      __syncthreads();
      copy_step(step + Ahead);
      const T* tile = stage(step);
      math.compute(tile, tile + LoaderA::Elements);
    }
    if constexpr (Config::Async) math.finish();  // the last step's wgmmas
    runtime::cp_async_wait<0>();  // only empty groups remain; keeps the tile free for sure
    write_output<Config>(problem, math, reinterpret_cast<float*>(shared), m0, n0, split, thread);
    return;
  }

  // Element path: global -> registers -> shared, double buffered.
  if (steps > 0) {
    loader_a.load(problem.a, m0, k0);
    loader_b.load(problem.b, n0, k0);
    loader_a.store(stages);
    loader_b.store(stages + LoaderA::Elements);
    __syncthreads();
  }
  for (int step = 0; step < steps; ++step) {
    const bool more = step + 1 < steps;
    if (more) {  // next step's global loads in flight during this step's math
      loader_a.load(problem.a, m0, k0 + (step + 1) * Config::BK);
      loader_b.load(problem.b, n0, k0 + (step + 1) * Config::BK);
    }
    const T* tile = stages + (step % 2) * Traits::StageElements;
    math.compute(tile, tile + LoaderA::Elements);
    if (more) {
      T* next = stages + ((step + 1) % 2) * Traits::StageElements;
      loader_a.store(next);
      loader_b.store(next + LoaderA::Elements);
    }
    __syncthreads();
  }
  write_output<Config>(problem, math, reinterpret_cast<float*>(shared), m0, n0, split, thread);
}

// Launches one instantiation, first allowing it more than the default 48 KB of dynamic
// shared memory where its pipeline needs that (once per kernel and process).
template <class Problem, class Config, bool Vectorized>
void launch_kernel(const Problem& problem, dim3 grid, int k_chunk, cudaStream_t stream) {
  constexpr std::size_t bytes = KernelTraits<Problem, Config>::shared_bytes(Vectorized);
  static const bool allowed =
      runtime::allow_dynamic_shared_memory(conv_gemm_kernel<Problem, Config, Vectorized>, bytes);
  (void)allowed;
  // "conv_gemm_kernel forward 128x128 wgmma": which pass and tile, for errors and profiles.
  static const std::string name =
      str("conv_gemm_kernel ", Problem::kName, " ", Config::BM, "x", Config::BN,
          Config::Wgmma ? " wgmma" : "", Vectorized ? "" : " unvectorized");
  SOMBRERO_LAUNCH_NAMED(name.c_str(), (conv_gemm_kernel<Problem, Config, Vectorized>), grid,
                        dim3(Config::Threads), bytes, stream, problem, k_chunk);
}

// One Config's launch: its block grid, k_chunk <= 0 meaning the whole of gemm_k.
template <class Problem, class Config>
void launch_config(const Problem& problem, bool vectorized, int splits, int k_chunk,
                   cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((problem.gemm_m + Config::BM - 1) / Config::BM),
                  static_cast<unsigned>((problem.gemm_n + Config::BN - 1) / Config::BN),
                  static_cast<unsigned>(splits));
  if (k_chunk <= 0) k_chunk = problem.gemm_k > 0 ? problem.gemm_k : 1;
  if constexpr (Config::Wgmma) {  // cp.async-filled tiles only: the caller checked vectorized
    launch_kernel<Problem, Config, true>(problem, grid, k_chunk, stream);
  } else {
    if (vectorized)
      launch_kernel<Problem, Config, true>(problem, grid, k_chunk, stream);
    else
      launch_kernel<Problem, Config, false>(problem, grid, k_chunk, stream);
  }
}

// Launches `problem` with the tile the plan chose, for its element type. `warpgroup` (the
// plan's wgmma tile, of shape wgmma_tile) applies to bf16 with vectorized operands, after
// checking that the device can run it (an sm_90a build on compute 9.0; always in the SIMT
// build, which emulates it); otherwise the large tile runs.
template <class Problem>
void launch(const Problem& problem, bool large_tile, bool vectorized, int splits, int k_chunk,
            cudaStream_t stream, bool warpgroup = false,
            Conv2dWgmmaTile wgmma_tile = Conv2dWgmmaTile::m128_sync) {
  if (problem.gemm_m <= 0 || problem.gemm_n <= 0) return;
  if constexpr (std::is_same_v<typename Problem::Element, __nv_bfloat16>) {
    if (warpgroup && vectorized) {
#if defined(__CUDACC__)
      const std::string reason = runtime::wgmma_unavailable_reason();
      SOMBRERO_CHECK(reason.empty(),
                     "conv2d: the warpgroup (wgmma) tile cannot run here: ", reason);
#endif
      if (wgmma_tile == Conv2dWgmmaTile::m256_async)
        launch_config<Problem, WgmmaTall>(problem, true, splits, k_chunk, stream);
      else if (wgmma_tile == Conv2dWgmmaTile::n64_sync)
        launch_config<Problem, WgmmaNarrow>(problem, true, splits, k_chunk, stream);
      else if (wgmma_tile == Conv2dWgmmaTile::m64_sync)
        launch_config<Problem, WgmmaShort>(problem, true, splits, k_chunk, stream);
      else if (wgmma_tile == Conv2dWgmmaTile::m128_async)
        launch_config<Problem, WgmmaLargeAsync>(problem, true, splits, k_chunk, stream);
      else
        launch_config<Problem, WgmmaLarge>(problem, true, splits, k_chunk, stream);
      return;
    }
  }
  if constexpr (std::is_same_v<typename Problem::Element, __nv_bfloat16>) {
    if (large_tile)
      launch_config<Problem, MmaLarge>(problem, vectorized, splits, k_chunk, stream);
    else
      launch_config<Problem, MmaSmall>(problem, vectorized, splits, k_chunk, stream);
  } else {
    if (large_tile)
      launch_config<Problem, FfmaLarge>(problem, vectorized, splits, k_chunk, stream);
    else
      launch_config<Problem, FfmaSmall>(problem, vectorized, splits, k_chunk, stream);
  }
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC::conv_igemm
