// cuda_bf16.h for the SIMT build: __nv_bfloat16 and __nv_bfloat162 with the same 16-bit
// patterns as on the GPU, conversions rounding to nearest even (runtime/bf16.h).
// Conversions are explicit here: write __float2bfloat16 / __bfloat162float in kernels, so
// that bf16 arithmetic is never silently done in a different precision in the two builds.
#pragma once

#include <cstdint>

#include "runtime/bf16.h"
#include "runtime/simt/vector_types.h"

struct __nv_bfloat16 {
  unsigned short __x;
  __nv_bfloat16() = default;
  explicit __nv_bfloat16(float value) : __x(sombrero::float_to_bf16(value).bits) {}
  explicit operator float() const { return sombrero::bf16_to_float(sombrero::bf16{__x}); }
};

struct alignas(4) __nv_bfloat162 {
  __nv_bfloat16 x, y;
};

static_assert(sizeof(__nv_bfloat16) == 2 && sizeof(__nv_bfloat162) == 4);

inline __nv_bfloat16 __float2bfloat16(float value) {
  return __nv_bfloat16(value);
}
inline __nv_bfloat16 __float2bfloat16_rn(float value) {
  return __nv_bfloat16(value);
}
inline float __bfloat162float(__nv_bfloat16 value) {
  return static_cast<float>(value);
}
inline __nv_bfloat162 __floats2bfloat162_rn(float low, float high) {
  return __nv_bfloat162{__nv_bfloat16(low), __nv_bfloat16(high)};
}
inline __nv_bfloat162 __float22bfloat162_rn(float2 value) {
  return __floats2bfloat162_rn(value.x, value.y);
}
inline float2 __bfloat1622float2(__nv_bfloat162 value) {
  return float2{static_cast<float>(value.x), static_cast<float>(value.y)};
}
inline float __low2float(__nv_bfloat162 value) {
  return static_cast<float>(value.x);
}
inline float __high2float(__nv_bfloat162 value) {
  return static_cast<float>(value.y);
}
inline __nv_bfloat162 __halves2bfloat162(__nv_bfloat16 low, __nv_bfloat16 high) {
  return __nv_bfloat162{low, high};
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 value) {
  return value.__x;
}
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short bits) {
  __nv_bfloat16 value;
  value.__x = bits;
  return value;
}
// bf16 arithmetic: computed in f32 and rounded once to bf16.
inline __nv_bfloat16 __hadd(__nv_bfloat16 a, __nv_bfloat16 b) {
  return __nv_bfloat16(static_cast<float>(a) + static_cast<float>(b));
}
inline __nv_bfloat16 __hmul(__nv_bfloat16 a, __nv_bfloat16 b) {
  return __nv_bfloat16(static_cast<float>(a) * static_cast<float>(b));
}
