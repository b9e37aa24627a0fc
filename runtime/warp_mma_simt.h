// The SIMT emulation of runtime/warp_mma.h: each operation is a warp collective (see
// runtime/simt/executor.h) whose resolver rebuilds the whole matrices from the 32 lanes'
// fragments with the PTX ISA layouts documented in warp_mma.h, multiplies, and hands each
// lane its fragment of the result. Include runtime/warp_mma.h, not this file.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <source_location>

#include "runtime/error.h"
#include "runtime/simt/simt.h"

namespace sombrero::runtime::simt_mma {

using ::sombrero::simt::WarpCall;
using ::sombrero::simt::WarpOp;
constexpr unsigned kFullWarp = 0xffffffffu;

inline float bf16_bits_to_float(std::uint32_t bits16) {
  return std::bit_cast<float>(bits16 << 16);
}
// The hardware reads the top 19 bits of a tf32 operand.
inline float tf32_bits_to_float(std::uint32_t bits) {
  return std::bit_cast<float>(bits & 0xffffe000u);
}

// cvt.rna.tf32.f32: round to 10 mantissa bits, ties away from zero; NaN and Inf kept.
inline std::uint32_t float_to_tf32(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7f800000u) == 0x7f800000u) return bits;  // Inf or NaN
  return (bits + 0x1000u) & 0xffffe000u;
}

struct MmaOperands {
  std::uint32_t a[4];
  std::uint32_t b[2];
  float c[4];
};

// C/D fragment position of element i (0..3) of a lane: shared by both shapes.
inline int c_row(unsigned lane, int i) {
  return static_cast<int>(lane >> 2) + (i < 2 ? 0 : 8);
}
inline int c_col(unsigned lane, int i) {
  return static_cast<int>(lane % 4) * 2 + (i & 1);
}

template <int K>
void multiply_and_scatter(WarpCall* const* lanes, const float (&A)[16][K], const float (&B)[K][8]) {
  for (unsigned lane = 0; lane < 32; ++lane) {
    const auto& in = *static_cast<const MmaOperands*>(lanes[lane]->in);
    float* d = static_cast<float*>(lanes[lane]->out);
    for (int i = 0; i < 4; ++i) {
      const int m = c_row(lane, i), n = c_col(lane, i);
      double sum = 0.0;  // bf16/tf32 products are exact in double, and so is this sum
      for (int k = 0; k < K; ++k) sum += static_cast<double>(A[m][k]) * B[k][n];
      d[i] = static_cast<float>(sum + static_cast<double>(in.c[i]));
    }
  }
}

inline void resolve_mma_bf16(WarpCall* const* lanes, unsigned /*mask*/) {
  float A[16][16], B[16][8];
  for (unsigned lane = 0; lane < 32; ++lane) {
    const auto& in = *static_cast<const MmaOperands*>(lanes[lane]->in);
    const int g = static_cast<int>(lane >> 2), t = static_cast<int>(lane % 4);
    for (int i = 0; i < 8; ++i) {
      const int row = g + ((i / 2) % 2 == 1 ? 8 : 0);  // rows g: a0,a1,a4,a5; g+8: a2,a3,a6,a7
      const int col = 2 * t + (i & 1) + (i >= 4 ? 8 : 0);
      A[row][col] = bf16_bits_to_float((in.a[i / 2] >> (16 * (i & 1))) & 0xffffu);
    }
    for (int i = 0; i < 4; ++i) {
      const int k = 2 * t + (i & 1) + (i >= 2 ? 8 : 0);
      B[k][g] = bf16_bits_to_float((in.b[i / 2] >> (16 * (i & 1))) & 0xffffu);
    }
  }
  multiply_and_scatter<16>(lanes, A, B);
}

inline void resolve_mma_tf32(WarpCall* const* lanes, unsigned /*mask*/) {
  float A[16][8], B[8][8];
  for (unsigned lane = 0; lane < 32; ++lane) {
    const auto& in = *static_cast<const MmaOperands*>(lanes[lane]->in);
    const int g = static_cast<int>(lane >> 2), t = static_cast<int>(lane % 4);
    for (int i = 0; i < 4; ++i) {
      const int row = g + (i % 2 == 1 ? 8 : 0);  // g: a0,a2; g+8: a1,a3
      const int col = t + (i >= 2 ? 4 : 0);      // t: a0,a1; t+4: a2,a3
      A[row][col] = tf32_bits_to_float(in.a[i]);
    }
    B[t][g] = tf32_bits_to_float(in.b[0]);
    B[t + 4][g] = tf32_bits_to_float(in.b[1]);
  }
  multiply_and_scatter<8>(lanes, A, B);
}

inline void mma(WarpOp op, simt::WarpResolve resolve, float (&d)[4], const std::uint32_t (&a)[4],
                const std::uint32_t (&b)[2], const float (&c)[4], std::source_location site) {
  MmaOperands in{};
  std::memcpy(in.a, a, sizeof in.a);
  std::memcpy(in.b, b, sizeof in.b);
  std::memcpy(in.c, c, sizeof in.c);
  float out[4];
  WarpCall call{op, kFullWarp, &in, out, resolve, site};
  simt::detail::warp_collective(call);
  std::memcpy(d, out, sizeof out);
}

inline void mma_m16n8k16_bf16(float (&d)[4], const std::uint32_t (&a)[4],
                              const std::uint32_t (&b)[2], const float (&c)[4],
                              std::source_location site = std::source_location::current()) {
  mma(WarpOp::mma_m16n8k16_bf16, &resolve_mma_bf16, d, a, b, c, site);
}

inline void mma_m16n8k8_tf32(float (&d)[4], const std::uint32_t (&a)[4],
                             const std::uint32_t (&b)[2], const float (&c)[4],
                             std::source_location site = std::source_location::current()) {
  mma(WarpOp::mma_m16n8k8_tf32, &resolve_mma_tf32, d, a, b, c, site);
}

template <int Count, bool Transposed>
void resolve_ldmatrix(WarpCall* const* lanes, unsigned /*mask*/) {
  for (int j = 0; j < Count; ++j) {
    std::uint16_t M[8][8];
    for (int row = 0; row < 8; ++row) {
      const auto* address = *static_cast<const std::uint16_t* const*>(lanes[8 * j + row]->in);
      std::memcpy(M[row], address, sizeof M[row]);
    }
    for (unsigned lane = 0; lane < 32; ++lane) {
      const int g = static_cast<int>(lane >> 2), t = static_cast<int>(lane % 4);
      const std::uint16_t low = Transposed ? M[2 * t][g] : M[g][2 * t];
      const std::uint16_t high = Transposed ? M[2 * t + 1][g] : M[g][2 * t + 1];
      static_cast<std::uint32_t*>(lanes[lane]->out)[j] =
          static_cast<std::uint32_t>(low) | (static_cast<std::uint32_t>(high) << 16);
    }
  }
}

template <int Count, bool Transposed>
void ldmatrix(WarpOp op, std::uint32_t (&r)[Count], const void* row, std::source_location site) {
  const unsigned lane = simt::detail::lane_id();
  SOMBRERO_CHECK(lane >= 8 * Count || reinterpret_cast<std::uintptr_t>(row) % 16 == 0,
                 simt::warp_op_name(op), " at ", site.file_name(), ":", site.line(), ": lane ",
                 lane, " passes a row address that is not 16-byte aligned");
  std::uint32_t out[Count];
  WarpCall call{op, kFullWarp, &row, out, &resolve_ldmatrix<Count, Transposed>, site};
  simt::detail::warp_collective(call);
  std::memcpy(r, out, sizeof out);
}

inline void ldmatrix_x1(std::uint32_t (&r)[1], const void* row,
                        std::source_location site = std::source_location::current()) {
  ldmatrix<1, false>(WarpOp::ldmatrix_x1, r, row, site);
}
inline void ldmatrix_x2(std::uint32_t (&r)[2], const void* row,
                        std::source_location site = std::source_location::current()) {
  ldmatrix<2, false>(WarpOp::ldmatrix_x2, r, row, site);
}
inline void ldmatrix_x4(std::uint32_t (&r)[4], const void* row,
                        std::source_location site = std::source_location::current()) {
  ldmatrix<4, false>(WarpOp::ldmatrix_x4, r, row, site);
}
inline void ldmatrix_x1_trans(std::uint32_t (&r)[1], const void* row,
                              std::source_location site = std::source_location::current()) {
  ldmatrix<1, true>(WarpOp::ldmatrix_x1_trans, r, row, site);
}
inline void ldmatrix_x2_trans(std::uint32_t (&r)[2], const void* row,
                              std::source_location site = std::source_location::current()) {
  ldmatrix<2, true>(WarpOp::ldmatrix_x2_trans, r, row, site);
}
inline void ldmatrix_x4_trans(std::uint32_t (&r)[4], const void* row,
                              std::source_location site = std::source_location::current()) {
  ldmatrix<4, true>(WarpOp::ldmatrix_x4_trans, r, row, site);
}

}  // namespace sombrero::runtime::simt_mma
