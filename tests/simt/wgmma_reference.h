// Inputs and the reference product for the wgmma test kernel (tests/simt/kernels/
// wgmma_kernels.cu), shared by the simt and the gpu test.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace sombrero::simt_test {

// bf16 bits of small integers in [-4, 4] (exact in bf16; every sum of their products below
// 2^24 is exact in f32, so every correct summation order gives the same bits).
inline std::vector<std::uint16_t> small_integer_bf16(std::size_t n, unsigned seed) {
  std::vector<std::uint16_t> bits(n);
  std::uint32_t state = seed * 2654435761u + 12345u;
  for (auto& b : bits) {
    state = state * 1664525u + 1013904223u;
    const int value = static_cast<int>((state >> 16) % 9) - 4;
    // Exact: a small integer needs few mantissa bits.
    b = static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(static_cast<float>(value)) >> 16);
  }
  return bits;
}

inline float bf16_bits_value(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

// D = A B^T: A m x k, B n x k, both row-major.
inline std::vector<float> reference_product(const std::vector<std::uint16_t>& a,
                                            const std::vector<std::uint16_t>& b, int m, int n,
                                            int k) {
  std::vector<float> d(static_cast<std::size_t>(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int q = 0; q < k; ++q)
        sum += double(bf16_bits_value(a[std::size_t(i) * k + q])) *
               bf16_bits_value(b[std::size_t(j) * k + q]);
      d[std::size_t(i) * n + j] = static_cast<float>(sum);
    }
  return d;
}

}  // namespace sombrero::simt_test
