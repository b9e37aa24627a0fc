// CUDA's built-in vector types for the SIMT build: dim3, uint3, float2/3/4, int2/3/4, ...
// Sizes and alignments match the CUDA headers (vector_types.h), so a float4 load in a kernel
// reads the same 16 bytes in both builds, and make_* builders exist for each type.
#pragma once

#include <cstdint>

#define SOMBRERO_SIMT_VECTOR1(T, name, align) \
  struct alignas(align) name {                \
    T x;                                      \
  };                                          \
  inline constexpr name make_##name(T x) {    \
    return name{x};                           \
  }
#define SOMBRERO_SIMT_VECTOR2(T, name, align)   \
  struct alignas(align) name {                  \
    T x, y;                                     \
  };                                            \
  inline constexpr name make_##name(T x, T y) { \
    return name{x, y};                          \
  }
#define SOMBRERO_SIMT_VECTOR3(T, name)               \
  struct name {                                      \
    T x, y, z;                                       \
  };                                                 \
  inline constexpr name make_##name(T x, T y, T z) { \
    return name{x, y, z};                            \
  }
#define SOMBRERO_SIMT_VECTOR4(T, name, align)             \
  struct alignas(align) name {                            \
    T x, y, z, w;                                         \
  };                                                      \
  inline constexpr name make_##name(T x, T y, T z, T w) { \
    return name{x, y, z, w};                              \
  }

SOMBRERO_SIMT_VECTOR1(signed char, char1, 1)
SOMBRERO_SIMT_VECTOR2(signed char, char2, 2)
SOMBRERO_SIMT_VECTOR4(signed char, char4, 4)
SOMBRERO_SIMT_VECTOR1(unsigned char, uchar1, 1)
SOMBRERO_SIMT_VECTOR2(unsigned char, uchar2, 2)
SOMBRERO_SIMT_VECTOR4(unsigned char, uchar4, 4)
SOMBRERO_SIMT_VECTOR2(short, short2, 4)
SOMBRERO_SIMT_VECTOR4(short, short4, 8)
SOMBRERO_SIMT_VECTOR2(unsigned short, ushort2, 4)
SOMBRERO_SIMT_VECTOR4(unsigned short, ushort4, 8)
SOMBRERO_SIMT_VECTOR1(int, int1, 4)
SOMBRERO_SIMT_VECTOR2(int, int2, 8)
SOMBRERO_SIMT_VECTOR3(int, int3)
SOMBRERO_SIMT_VECTOR4(int, int4, 16)
SOMBRERO_SIMT_VECTOR1(unsigned, uint1, 4)
SOMBRERO_SIMT_VECTOR2(unsigned, uint2, 8)
SOMBRERO_SIMT_VECTOR3(unsigned, uint3)
SOMBRERO_SIMT_VECTOR4(unsigned, uint4, 16)
SOMBRERO_SIMT_VECTOR2(long long, longlong2, 16)
SOMBRERO_SIMT_VECTOR2(unsigned long long, ulonglong2, 16)
SOMBRERO_SIMT_VECTOR1(float, float1, 4)
SOMBRERO_SIMT_VECTOR2(float, float2, 8)
SOMBRERO_SIMT_VECTOR3(float, float3)
SOMBRERO_SIMT_VECTOR4(float, float4, 16)
SOMBRERO_SIMT_VECTOR1(double, double1, 8)
SOMBRERO_SIMT_VECTOR2(double, double2, 16)

#undef SOMBRERO_SIMT_VECTOR1
#undef SOMBRERO_SIMT_VECTOR2
#undef SOMBRERO_SIMT_VECTOR3
#undef SOMBRERO_SIMT_VECTOR4

// dim3: a uint3 whose unspecified components default to 1 (launch geometry).
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

static_assert(sizeof(float4) == 16 && alignof(float4) == 16, "float4 must match CUDA's layout");
static_assert(sizeof(float2) == 8 && alignof(float2) == 8, "float2 must match CUDA's layout");
static_assert(sizeof(uint3) == 12, "uint3 must match CUDA's layout");
