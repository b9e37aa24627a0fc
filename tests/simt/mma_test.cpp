// Warp-level matrix wrappers in the SIMT build: ldmatrix distributes elements exactly as
// the PTX ISA tables say (documented in runtime/warp_mma.h), and mma tiles match a CPU
// matmul within f32 rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "runtime/bf16.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

std::uint32_t pair(std::uint16_t low, std::uint16_t high) {
  return static_cast<std::uint32_t>(low) | (static_cast<std::uint32_t>(high) << 16);
}

TEST(SimtMma, LdmatrixFollowsThePtxFragmentLayout) {
  std::vector<std::uint16_t> tile(256);
  for (int i = 0; i < 256; ++i) tile[i] = static_cast<std::uint16_t>(i);  // (row << 4) | col
  auto at = [&](int row, int col) { return tile[row * 16 + col]; };
  std::vector<std::uint32_t> out(6 * 32 * 4, 0);
  simt::ldmatrix_all(tile.data(), out.data());
  // Matrix j of x4: rows (j % 2) * 8.., cols (j / 2) * 8.. (lane L addresses row L % 16,
  // column block L / 16).
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    for (int j = 0; j < 4; ++j) {
      const int r0 = (j % 2) * 8, c0 = (j / 2) * 8;
      const std::uint32_t plain = pair(at(r0 + g, c0 + 2 * t), at(r0 + g, c0 + 2 * t + 1));
      const std::uint32_t trans = pair(at(r0 + 2 * t, c0 + g), at(r0 + 2 * t + 1, c0 + g));
      if (j < 1) {
        EXPECT_EQ(out[0 * 128 + lane * 4 + j], plain) << "x1 lane " << lane;
      }
      if (j < 2) {
        EXPECT_EQ(out[1 * 128 + lane * 4 + j], plain) << "x2 lane " << lane;
      }
      EXPECT_EQ(out[2 * 128 + lane * 4 + j], plain) << "x4 lane " << lane << " reg " << j;
      if (j < 1) {
        EXPECT_EQ(out[3 * 128 + lane * 4 + j], trans) << "x1.trans lane " << lane;
      }
      if (j < 2) {
        EXPECT_EQ(out[4 * 128 + lane * 4 + j], trans) << "x2.trans lane " << lane;
      }
      EXPECT_EQ(out[5 * 128 + lane * 4 + j], trans) << "x4.trans lane " << lane << " reg " << j;
    }
  }
}

TEST(SimtMma, Bf16GemmMatchesCpuMatmul) {
  const int m = 32, n = 24, k = 48;
  std::mt19937 random(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::uint16_t> a(m * k), b(k * n);
  std::vector<float> af(m * k), bf(k * n);
  for (int i = 0; i < m * k; ++i) {
    a[i] = float_to_bf16(normal(random)).bits;
    af[i] = bf16_to_float(bf16{a[i]});
  }
  for (int i = 0; i < k * n; ++i) {
    b[i] = float_to_bf16(normal(random)).bits;
    bf[i] = bf16_to_float(bf16{b[i]});
  }
  std::vector<float> d(m * n, 0.0f);
  simt::mma_bf16_gemm(a.data(), b.data(), d.data(), m, n, k);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double exact = 0.0, magnitude = 0.0;
      for (int p = 0; p < k; ++p) {
        exact += static_cast<double>(af[i * k + p]) * bf[p * n + j];
        magnitude += std::abs(static_cast<double>(af[i * k + p]) * bf[p * n + j]);
      }
      // Per k-step of 16 the tile rounds once to f32: k/16 roundings of partial sums.
      const double tolerance = (k / 16) * magnitude * std::ldexp(1.0, -24);
      EXPECT_NEAR(d[i * n + j], exact, tolerance) << "D[" << i << "][" << j << "]";
    }
  }
}

TEST(SimtMma, Tf32TileMatchesCpuMatmul) {
  std::vector<float> a(16 * 8), b(8 * 8), c(16 * 8), d(16 * 8, 0.0f);
  // Values with at most 10 mantissa bits are exact in tf32; the products and sums are exact
  // in f32 too, so the tile must match bit for bit.
  for (int i = 0; i < 16 * 8; ++i) a[i] = static_cast<float>((i * 5) % 17 - 8) * 0.25f;
  for (int i = 0; i < 8 * 8; ++i) b[i] = static_cast<float>((i * 3) % 13 - 6) * 0.5f;
  for (int i = 0; i < 16 * 8; ++i) c[i] = static_cast<float>(i % 7);
  simt::mma_tf32_tile(a.data(), b.data(), c.data(), d.data());
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 8; ++j) {
      float expected = c[i * 8 + j];
      for (int p = 0; p < 8; ++p) expected += a[i * 8 + p] * b[p * 8 + j];
      EXPECT_EQ(d[i * 8 + j], expected) << "D[" << i << "][" << j << "]";
    }
  }
}

TEST(SimtMma, Tf32OperandsAreRoundedLikeTheHardware) {
  // 1 + 2^-11 is not a tf32 value: cvt.rna rounds it to 1 + 2^-10 (ties away from zero),
  // and the tensor core ignores the low 13 bits. A = that value in column 0, B = identity row.
  std::vector<float> a(16 * 8, 0.0f), b(8 * 8, 0.0f), c(16 * 8, 0.0f), d(16 * 8, 0.0f);
  a[0] = 1.0f + std::ldexp(1.0f, -11);
  b[0] = 1.0f;
  simt::mma_tf32_tile(a.data(), b.data(), c.data(), d.data());
  EXPECT_EQ(d[0], 1.0f + std::ldexp(1.0f, -10));
}

}  // namespace
}  // namespace sombrero::simt_test
