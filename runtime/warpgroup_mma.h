// Warpgroup-level matrix multiply-accumulate (Hopper wgmma.mma_async, sm_90a): a warpgroup
// of 128 threads (4 consecutive warps, the first warp's index a multiple of 4) multiplies a
// 64 x 16 bf16 tile A by a 16 x N bf16 tile B, both read straight from shared memory
// through 64-bit matrix descriptors, into 64 x N f32 accumulators spread over the
// warpgroup's registers. Asynchronous: an issued wgmma may still be running (reading shared
// memory, writing the accumulators) until wgmma_wait<n>() says at most n committed groups
// remain; neither the accumulators nor the tiles it reads may be touched in between.
//
//   wgmma_fence()                 wgmma.fence: before the first wgmma of a batch, ordering
//                                 earlier register accesses of the accumulators before it
//   wgmma_m64n{64,128}k16_bf16<TransA, TransB>(d, desc_a, desc_b, scale_d)
//                                 d = A * B + (scale_d ? d : 0); an operand is "K-major"
//                                 (Trans 0: element (m, k) of A, (n, k) of B with k
//                                 contiguous) or "MN-major" (Trans 1: m, n contiguous)
//   wgmma_commit()                closes this thread's current group of wgmmas
//   wgmma_wait<n>()               waits until at most n groups are in flight
//   fence_proxy_async_shared()    orders this thread's generic-proxy writes to shared memory
//                                 (st.shared, landed cp.async) before later async-proxy
//                                 reads (wgmma); call it after the writes, before the
//                                 barrier that publishes them
//
// Matrix descriptor (PTX ISA, "Matrix Descriptor Format"): bits 0-13 start address >> 4,
// 16-29 leading-dimension byte offset >> 4, 32-45 stride-dimension byte offset >> 4, 49-51
// base offset (0 here: swizzled tiles are 1024-byte aligned), 62-63 swizzle (0 none, 1 128B,
// 2 64B, 3 32B). A K-major operand is made of core matrices of 8 rows x 16 bytes:
//   none:  a core matrix is 128 contiguous bytes (row r at 16 r); LBO = bytes between core
//          matrices adjacent along k, SBO = bytes between those adjacent along m (or n);
//   128B:  a row of 128 bytes (64 bf16 along k) per m (n); 8 rows = a 1024-byte atom in
//          which the 16-byte chunk j of row r sits at chunk j ^ (r % 8) (address bits 4-6
//          XORed with bits 7-9); SBO = 1024 between 8-row groups; LBO unused (1). The k-th
//          16-wide slice of a row starts 32 k bytes after the row's start, so a descriptor
//          for it adds 32 k bytes to the start address (the XOR then does the rest).
// An MN-major operand with the 128B swizzle: a row of 128 bytes holds 64 consecutive m (n)
// of one k; 8 rows (k .. k + 7) form a 1024-byte atom, swizzled as above; SBO = bytes between
// atoms adjacent along k (8-k groups), LBO = bytes between atoms adjacent along m (n), i.e.
// per 64 m (n). A 16-wide k slice is two 8-k groups: its descriptor starts at the first.
// Accumulators (PTX ISA, "wgmma register fragment: D"): thread T of the warpgroup, warp
// w = T / 32, lane l, g = l / 4, t = l % 4; register i (0 .. N/2 - 1) holds
//   row 16 w + g + 8 ((i / 2) % 2),  column 8 (i / 4) + 2 t + (i % 2),
// i.e. the m16n8 C-fragment layout of mma.sync, repeated over N / 8 column blocks, one
// 16-row slice per warp.
//
// In the SIMT build (runtime/warpgroup_mma_simt.h) a wgmma is queued at issue and computed
// at the thread's wgmma_wait, reading shared memory then, so a tile overwritten before the
// wait, or accumulators read before it, give wrong results in the tests; products are
// exact and each k16 step's sum is rounded once to f32 (tensor cores: to f32 rounding,
// not bit for bit).
#pragma once

#include <cstdint>

#include "runtime/kernel_api.h"
#include "runtime/warp_mma.h"

#if defined(SOMBRERO_SIMT)
#include "runtime/warpgroup_mma_simt.h"
#endif

namespace sombrero::runtime {

enum class WgmmaSwizzle : std::uint32_t { none = 0, bytes128 = 1, bytes64 = 2, bytes32 = 3 };

// A matrix descriptor for a tile at shared-memory address `address` (shared_address()).
SOMBRERO_HOST_DEVICE constexpr std::uint64_t wgmma_descriptor(std::uint32_t address,
                                                              std::uint32_t leading_bytes,
                                                              std::uint32_t stride_bytes,
                                                              WgmmaSwizzle swizzle) {
  return (static_cast<std::uint64_t>((address >> 4) & 0x3fffu)) |
         (static_cast<std::uint64_t>((leading_bytes >> 4) & 0x3fffu) << 16) |
         (static_cast<std::uint64_t>((stride_bytes >> 4) & 0x3fffu) << 32) |
         (static_cast<std::uint64_t>(swizzle) << 62);
}

// Byte offset of bf16 element (row, k) in a K-major tile of rows x 64 with the 128B
// swizzle, the tile 1024-byte aligned (the layout a bytes128 descriptor with SBO 1024 reads).
SOMBRERO_HOST_DEVICE constexpr std::uint32_t swizzle128_offset(std::uint32_t row, std::uint32_t k) {
  return row * 128u + ((((k / 8u) ^ (row % 8u)) & 7u) * 16u) + (k % 8u) * 2u;
}

// Byte offset of bf16 element (k, mn) in an MN-major tile with the 128B swizzle: atoms of
// 8 k x 64 mn (1024 bytes; chunk j of row k at chunk j ^ (k % 8)), the 8-k groups of one
// 64-wide mn range contiguous (SBO 1024), mn ranges `atom_stride` bytes apart (LBO).
SOMBRERO_HOST_DEVICE constexpr std::uint32_t swizzle128_mn_offset(std::uint32_t k, std::uint32_t mn,
                                                                  std::uint32_t atom_stride) {
  return (mn / 64u) * atom_stride + (k / 8u) * 1024u + (k % 8u) * 128u +
         (((((mn % 64u) / 8u) ^ (k % 8u)) & 7u) * 16u) + (mn % 8u) * 2u;
}

#if defined(__CUDACC__)

__device__ __forceinline__ void wgmma_fence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}

__device__ __forceinline__ void wgmma_commit() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}

template <int N>
__device__ __forceinline__ void wgmma_wait() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}

__device__ __forceinline__ void fence_proxy_async_shared() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// Keeps the compiler from moving accesses of an accumulator across a wgmma (CUTLASS's
// warpgroup_fence_operand): call on every accumulator before the fence and after the wait.
template <int Count>
__device__ __forceinline__ void wgmma_fence_accumulators(float (&d)[Count]) {
#pragma unroll
  for (int i = 0; i < Count; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

template <int TransA = 0, int TransB = 0>
__device__ __forceinline__ void wgmma_m64n64k16_bf16(float (&d)[32], std::uint64_t desc_a,
                                                     std::uint64_t desc_b, int scale_d) {
  static_assert((TransA == 0 || TransA == 1) && (TransB == 0 || TransB == 1));
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\n"
      "setp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
      "}, %32, %33, p, 1, 1, %35, %36;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TransA), "n"(TransB));
#else
  (void)d, (void)desc_a, (void)desc_b, (void)scale_d;
  __trap();  // built without sm_90a: the host never launches this (wgmma_unavailable_reason)
#endif
}

template <int TransA = 0, int TransB = 0>
__device__ __forceinline__ void wgmma_m64n128k16_bf16(float (&d)[64], std::uint64_t desc_a,
                                                      std::uint64_t desc_b, int scale_d) {
  static_assert((TransA == 0 || TransA == 1) && (TransB == 0 || TransB == 1));
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile(
      "{\n.reg .pred p;\n"
      "setp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
      "}, %64, %65, p, 1, 1, %67, %68;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),
        "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]),
        "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]),
        "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]),
        "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]),
        "+f"(d[63])
      : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TransA), "n"(TransB));
#else
  (void)d, (void)desc_a, (void)desc_b, (void)scale_d;
  __trap();  // built without sm_90a: the host never launches this (wgmma_unavailable_reason)
#endif
}

#else  // SOMBRERO_SIMT: runtime/warpgroup_mma_simt.h

using simt_wgmma::fence_proxy_async_shared;
using simt_wgmma::wgmma_commit;
using simt_wgmma::wgmma_fence;
using simt_wgmma::wgmma_fence_accumulators;
using simt_wgmma::wgmma_m64n128k16_bf16;
using simt_wgmma::wgmma_m64n64k16_bf16;
using simt_wgmma::wgmma_wait;

#endif

}  // namespace sombrero::runtime
