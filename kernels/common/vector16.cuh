// Loads and stores of V consecutive f32 or bf16 elements as f32 values, for kernel sources
// (nvcc and SIMT builds alike). V = 1 is a plain scalar access; V = kVector16<T> (4 f32 or
// 8 bf16) is one 16-byte access, which needs a 16-byte aligned address
// (rows_split_into_16_byte_vectors in vector16.h checks that on the host). The SIMT build moves
// the 16 bytes with memcpy: no type punning through uint4 there.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/common/numeric.cuh"
#include "kernels/common/vector16.h"

namespace sombrero::kernels {

// Elements of T in one 16-byte vector.
template <typename T>
inline constexpr int kVector16 = 16 / static_cast<int>(sizeof(T));

namespace vector16_detail {

// Data the kernel also writes (read-modify-write), or shared memory.
__device__ __forceinline__ uint4 load(const void* p) {
#if defined(__CUDACC__)
  return *static_cast<const uint4*>(p);
#else
  ::sombrero::simt::check_vector_alignment(p, sizeof(uint4));
  uint4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
#endif
}

// Read-only for the whole kernel (the GPU's non-coherent load path; the CPU has no such
// cache, so the SIMT build loads plainly).
__device__ __forceinline__ uint4 load_readonly(const void* p) {
#if defined(__CUDACC__)
  return __ldg(static_cast<const uint4*>(p));
#else
  return load(p);
#endif
}

__device__ __forceinline__ void store(void* p, const uint4& v) {
#if defined(__CUDACC__)
  *static_cast<uint4*>(p) = v;
#else
  ::sombrero::simt::check_vector_alignment(p, sizeof(uint4));
  std::memcpy(p, &v, sizeof v);
#endif
}

// Little-endian: element 2i is the low half of word i for bf16. bf16 -> f32 is exact.
template <typename T>
__device__ __forceinline__ void unpack(const uint4& bits, float (&out)[kVector16<T>]) {
  const std::uint32_t words[4] = {bits.x, bits.y, bits.z, bits.w};
  if constexpr (std::is_same_v<T, float>) {
    for (int i = 0; i < 4; ++i) out[i] = __uint_as_float(words[i]);
  } else {
    for (int i = 0; i < 4; ++i) {
      out[2 * i] = __uint_as_float(words[i] << 16);
      out[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
    }
  }
}

// f32 -> bf16 rounds to nearest even, as from_float does in the scalar path.
template <typename T>
__device__ __forceinline__ uint4 pack(const float (&in)[kVector16<T>]) {
  std::uint32_t words[4];
  if constexpr (std::is_same_v<T, float>) {
    for (int i = 0; i < 4; ++i) words[i] = __float_as_uint(in[i]);
  } else {
    for (int i = 0; i < 4; ++i) {
      const std::uint32_t low = __bfloat16_as_ushort(from_float<T>(in[2 * i]));
      const std::uint32_t high = __bfloat16_as_ushort(from_float<T>(in[2 * i + 1]));
      words[i] = low | (high << 16);
    }
  }
  return make_uint4(words[0], words[1], words[2], words[3]);
}

}  // namespace vector16_detail

// p[0 .. V) as f32, from data the kernel never writes.
template <int V, typename T>
__device__ __forceinline__ void load_readonly_as_f32(const T* p, float (&out)[V]) {
  static_assert(V == 1 || V == kVector16<T>, "one element or one 16-byte vector");
  if constexpr (V == 1)
    out[0] = to_float(*p);
  else
    vector16_detail::unpack<T>(vector16_detail::load_readonly(p), out);
}

// p[0 .. V) as f32, from data the kernel also writes.
template <int V, typename T>
__device__ __forceinline__ void load_as_f32(const T* p, float (&out)[V]) {
  static_assert(V == 1 || V == kVector16<T>, "one element or one 16-byte vector");
  if constexpr (V == 1)
    out[0] = to_float(*p);
  else
    vector16_detail::unpack<T>(vector16_detail::load(p), out);
}

// out[0 .. 4) = p[0 .. 4): four 16-byte aligned floats, global or shared memory (a pointer
// into a longer array, where load_as_f32 wants an array of exactly four).
__device__ __forceinline__ void load_four_floats(const float* p, float* out) {
  const uint4 v = vector16_detail::load(p);
  out[0] = __uint_as_float(v.x), out[1] = __uint_as_float(v.y);
  out[2] = __uint_as_float(v.z), out[3] = __uint_as_float(v.w);
}

// One 16-byte vector's bits now, its f32 values later (unpack_vector16): lets a kernel issue
// several loads before it needs the first value. _readonly: data the kernel never writes.
template <typename T>
__device__ __forceinline__ uint4 load_vector16(const T* p) {
  return vector16_detail::load(p);
}
template <typename T>
__device__ __forceinline__ uint4 load_vector16_readonly(const T* p) {
  return vector16_detail::load_readonly(p);
}
template <typename T>
__device__ __forceinline__ void unpack_vector16(const uint4& bits, float (&out)[kVector16<T>]) {
  vector16_detail::unpack<T>(bits, out);
}

// V elements' raw bits (the element itself, or one 16-byte vector) now, their f32 values
// later (raw_to_f32): lets a kernel issue several loads before it needs the first value, in
// the registers of the packed data. V: 1 or kVector16<T>.
template <typename T, int V>
using RawVector = std::conditional_t<V == 1, T, uint4>;

template <typename T, int V>
__device__ __forceinline__ RawVector<T, V> load_raw(const T* p) {  // data the kernel also writes
  if constexpr (V == 1)
    return *p;
  else
    return vector16_detail::load(p);
}
template <typename T, int V>
__device__ __forceinline__ RawVector<T, V> load_raw_readonly(const T* p) {
  if constexpr (V == 1)
    return *p;
  else
    return vector16_detail::load_readonly(p);
}
template <typename T, int V>
__device__ __forceinline__ void store_raw(T* p, const RawVector<T, V>& bits) {
  if constexpr (V == 1)
    *p = bits;
  else
    vector16_detail::store(p, bits);
}
template <typename T, int V>
__device__ __forceinline__ void raw_to_f32(const RawVector<T, V>& bits, float (&out)[V]) {
  if constexpr (V == 1)
    out[0] = to_float(bits);
  else
    vector16_detail::unpack<T>(bits, out);
}

// p[0 .. V) = values, rounded to T.
template <int V, typename T>
__device__ __forceinline__ void store_from_f32(T* p, const float (&values)[V]) {
  static_assert(V == 1 || V == kVector16<T>, "one element or one 16-byte vector");
  if constexpr (V == 1)
    *p = from_float<T>(values[0]);
  else
    vector16_detail::store(p, vector16_detail::pack<T>(values));
}

}  // namespace sombrero::kernels
