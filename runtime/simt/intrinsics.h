// CUDA math and bit intrinsics for the SIMT build. The fast approximate forms (__expf,
// __fdividef, ...) are computed exactly here; a kernel whose result depends on their
// approximation error must compare with a tolerance on the GPU anyway.
#pragma once

#include <math.h>  // the C math functions (expf, sqrtf, fmaf, ...) in the global namespace

#include <bit>
#include <cstdint>

inline float __expf(float x) {
  return expf(x);
}
inline float __exp10f(float x) {
  return powf(10.0f, x);
}
inline float __logf(float x) {
  return logf(x);
}
inline float __log2f(float x) {
  return log2f(x);
}
inline float __sinf(float x) {
  return sinf(x);
}
inline float __cosf(float x) {
  return cosf(x);
}
inline void __sincosf(float x, float* s, float* c) {
  *s = sinf(x), *c = cosf(x);
}
// sin(pi x) and cos(pi x), as CUDA's sincospif (which has no slow argument-reduction path).
inline void sincospif(float x, float* s, float* c) {
  const double angle = 3.14159265358979323846 * static_cast<double>(x);
  *s = static_cast<float>(sin(angle)), *c = static_cast<float>(cos(angle));
}
inline float __tanf(float x) {
  return tanf(x);
}
inline float __powf(float x, float y) {
  return powf(x, y);
}
inline float __fdividef(float x, float y) {
  return x / y;
}
inline float __frcp_rn(float x) {
  return 1.0f / x;
}
inline float __fsqrt_rn(float x) {
  return sqrtf(x);
}
inline float rsqrtf(float x) {
  return 1.0f / sqrtf(x);
}
inline double rsqrt(double x) {
  return 1.0 / sqrt(x);
}
inline float __saturatef(float x) {
  return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
}
inline float __fadd_rn(float a, float b) {
  return a + b;
}
inline float __fmul_rn(float a, float b) {
  return a * b;
}
inline float __fmaf_rn(float a, float b, float c) {
  return fmaf(a, b, c);
}
inline float __int2float_rn(int x) {
  return static_cast<float>(x);
}
inline int __float2int_rn(float x) {
  return static_cast<int>(nearbyintf(x));
}
inline int __float2int_rz(float x) {
  return static_cast<int>(x);
}

inline int __float_as_int(float x) {
  return std::bit_cast<int>(x);
}
inline unsigned __float_as_uint(float x) {
  return std::bit_cast<unsigned>(x);
}
inline float __int_as_float(int x) {
  return std::bit_cast<float>(x);
}
inline float __uint_as_float(unsigned x) {
  return std::bit_cast<float>(x);
}

// High 32 bits of the exact 64-bit product (unsigned / signed).
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<std::uint64_t>(a) * b) >> 32);
}
inline int __mulhi(int a, int b) {
  return static_cast<int>((static_cast<std::int64_t>(a) * b) >> 32);
}

inline int __popc(unsigned x) {
  return std::popcount(x);
}
inline int __popcll(unsigned long long x) {
  return std::popcount(x);
}
inline int __clz(int x) {
  return std::countl_zero(static_cast<unsigned>(x));
}
inline int __clzll(long long x) {
  return std::countl_zero(static_cast<unsigned long long>(x));
}
inline int __ffs(int x) {
  return x == 0 ? 0 : std::countr_zero(static_cast<unsigned>(x)) + 1;
}
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}

// CUDA's overloaded min/max for device code.
#define SOMBRERO_SIMT_MINMAX(T) \
  inline T min(T a, T b) {      \
    return b < a ? b : a;       \
  }                             \
  inline T max(T a, T b) {      \
    return a < b ? b : a;       \
  }
SOMBRERO_SIMT_MINMAX(int)
SOMBRERO_SIMT_MINMAX(unsigned)
SOMBRERO_SIMT_MINMAX(long long)
SOMBRERO_SIMT_MINMAX(unsigned long long)
#undef SOMBRERO_SIMT_MINMAX
inline float min(float a, float b) {
  return fminf(a, b);
}
inline float max(float a, float b) {
  return fmaxf(a, b);
}
inline double min(double a, double b) {
  return fmin(a, b);
}
inline double max(double a, double b) {
  return fmax(a, b);
}

// Read-only data cache loads are plain loads on a CPU.
template <typename T>
inline T __ldg(const T* address) {
  return *address;
}
