// bfloat16 on the host: 1 sign, 8 exponent, 7 mantissa bits (the top half of an IEEE f32).
// Conversion from f32 rounds to nearest, ties to even, as __float2bfloat16 does on the GPU;
// NaN stays NaN (quiet). Tensors of dtype bf16 hold these bits on the CPU and __nv_bfloat16
// on the GPU: the same 16-bit pattern.
#pragma once

#include <cstdint>
#include <cstring>

namespace sombrero {

struct bf16 {
  std::uint16_t bits = 0;
};

inline bf16 float_to_bf16(float value) {
  std::uint32_t u;
  std::memcpy(&u, &value, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};
  const std::uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);  // ties to even
  return bf16{static_cast<std::uint16_t>((u + rounding) >> 16)};
}

inline float bf16_to_float(bf16 value) {
  const std::uint32_t u = static_cast<std::uint32_t>(value.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace sombrero
