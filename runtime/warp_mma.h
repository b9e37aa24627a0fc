// Warp-level matrix multiply-accumulate (tensor cores) and ldmatrix, the only way sombrero's
// kernels use tensor cores. Under nvcc these are single PTX instructions (sm_80+); in the
// SIMT build they are warp collectives that gather the 32 lanes' fragments, compute on
// whole matrices and scatter the results, following the PTX ISA fragment layouts exactly.
// All 32 lanes of the warp must call them together (the PTX ".sync.aligned" rule).
//
// Notation (PTX ISA, "Matrix fragments for mma.m16n8k16" / "mma.m16n8k8", "ldmatrix"):
//   lane = %laneid, g = groupID = lane >> 2 (0..7), t = threadID_in_group = lane % 4 (0..3).
//   A packed bf16x2 register holds the element with the lower index in its low 16 bits.
//
// mma_m16n8k16_bf16: D(16x8,f32) = A(16x16,bf16, row) * B(16x8,bf16, col) + C(16x8,f32)
//   A: 4 regs, elements a0..a7 (a[r] holds a(2r) low, a(2r+1) high)
//      a_i row = g        for i in {0,1,4,5},  g + 8 for i in {2,3,6,7}
//      a_i col = 2t + (i&1) for i < 4,          2t + (i&1) + 8 for i >= 4
//      i.e. a[0] = A[g][2t..2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..], a[3] = A[g+8][2t+8..]
//   B: 2 regs, elements b0..b3
//      b_i row (k) = 2t + (i&1) for i < 2,    2t + (i&1) + 8 for i >= 2;   col (n) = g
//      i.e. b[0] = B[2t..2t+1][g], b[1] = B[2t+8..2t+9][g]
//   C, D: 4 f32, c_i row = g for i < 2, g + 8 for i >= 2; col = 2t + (i&1)
//      i.e. c[0..1] = C[g][2t..2t+1], c[2..3] = C[g+8][2t..2t+1]
//
// mma_m16n8k8_tf32: D(16x8,f32) = A(16x8,tf32, row) * B(8x8,tf32, col) + C(16x8,f32)
//   A: 4 regs a0..a3, one tf32 each: row = g for a0,a2; g + 8 for a1,a3;
//                                    col = t for a0,a1; t + 4 for a2,a3
//   B: 2 regs b0,b1: row (k) = t for b0, t + 4 for b1; col (n) = g
//   C, D: as for m16n8k16.
//   A tf32 operand is an f32 bit pattern of which the hardware reads only the top 19 bits
//   (sign, 8 exponent, 10 mantissa); round with float_to_tf32 first (cvt.rna.tf32.f32).
//
// ldmatrix_x{1,2,4}[_trans]: loads 1, 2 or 4 8x8 matrices of 16-bit elements from shared
//   memory. Lanes 8j..8j+7 give the addresses of rows 0..7 of matrix j (16-byte aligned,
//   16 contiguous bytes each); the addresses of the other lanes are ignored. Result register
//   r[j] of lane L holds, for matrix j:
//     plain:  M[g][2t] (low half), M[g][2t+1] (high half)          (g, t of lane L)
//     .trans: M[2t][g] (low half), M[2t+1][g] (high half)
//   So x4 of a 16x16 bf16 tile with matrices (rows 0-7, cols 0-7), (rows 8-15, cols 0-7),
//   (rows 0-7, cols 8-15), (rows 8-15, cols 8-15) yields exactly the A fragment above.
//
// Rounding: the SIMT emulation forms each dot product exactly (double) and rounds once to
// f32 after adding C. Tensor cores keep the products exact but may accumulate with fewer
// guard bits, so the two builds agree to f32 rounding, not bit for bit.
#pragma once

#include <cstdint>

#include "runtime/kernel_api.h"

#if defined(SOMBRERO_SIMT)
#include "runtime/warp_mma_simt.h"
#endif

namespace sombrero::runtime {

// Packs two floats as bf16x2 (rounded to nearest even): `low` in bits 0-15.
SOMBRERO_HOST_DEVICE inline std::uint32_t pack_bf16x2(float low, float high) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(low, high);
  return static_cast<std::uint32_t>(__bfloat16_as_ushort(pair.x)) |
         (static_cast<std::uint32_t>(__bfloat16_as_ushort(pair.y)) << 16);
}

#if defined(__CUDACC__)

// Rounds an f32 to tf32 (nearest, ties away from zero), as cvt.rna.tf32.f32.
__device__ __forceinline__ std::uint32_t float_to_tf32(float value) {
  std::uint32_t bits;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(bits) : "f"(value));
  return bits;
}

__device__ __forceinline__ void mma_m16n8k16_bf16(float (&d)[4], const std::uint32_t (&a)[4],
                                                  const std::uint32_t (&b)[2],
                                                  const float (&c)[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
        "f"(c[2]), "f"(c[3]));
}

__device__ __forceinline__ void mma_m16n8k8_tf32(float (&d)[4], const std::uint32_t (&a)[4],
                                                 const std::uint32_t (&b)[2], const float (&c)[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
        "f"(c[2]), "f"(c[3]));
}

__device__ __forceinline__ std::uint32_t shared_address(const void* pointer) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(pointer));
}

__device__ __forceinline__ void ldmatrix_x1(std::uint32_t (&r)[1], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"(shared_address(row)));
}
__device__ __forceinline__ void ldmatrix_x2(std::uint32_t (&r)[2], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(shared_address(row)));
}
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}
__device__ __forceinline__ void ldmatrix_x1_trans(std::uint32_t (&r)[1], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"(shared_address(row)));
}
__device__ __forceinline__ void ldmatrix_x2_trans(std::uint32_t (&r)[2], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(shared_address(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}

#else  // SOMBRERO_SIMT: the emulation in runtime/warp_mma_simt.h

// The byte offset of a pointer in the block's dynamic shared memory (what the PTX shared
// state space calls its address); throws for a pointer outside it.
inline std::uint32_t shared_address(const void* pointer) {
  return simt::detail::shared_address(pointer);
}

using simt_mma::float_to_tf32;
using simt_mma::ldmatrix_x1;
using simt_mma::ldmatrix_x1_trans;
using simt_mma::ldmatrix_x2;
using simt_mma::ldmatrix_x2_trans;
using simt_mma::ldmatrix_x4;
using simt_mma::ldmatrix_x4_trans;
using simt_mma::mma_m16n8k16_bf16;
using simt_mma::mma_m16n8k8_tf32;

#endif

}  // namespace sombrero::runtime
