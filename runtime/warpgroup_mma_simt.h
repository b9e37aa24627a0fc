// The SIMT emulation of runtime/warpgroup_mma.h. Each CUDA thread computes its own
// accumulator registers (the layout documented there) from the shared-memory tiles the
// descriptors name, so no data moves between the warpgroup's threads; the work is queued at
// issue and run at the thread's wgmma_wait (runtime/simt/executor.h, async_work), which is
// when the tiles are read. Descriptors are decoded as the PTX ISA describes them; swizzle
// modes other than none and 128B, MN-major operands without a swizzle, and a nonzero base
// offset are refused (not used here).
// Include runtime/warpgroup_mma.h, not this file.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <source_location>

#include "runtime/error.h"
#include "runtime/simt/simt.h"

namespace sombrero::runtime::simt_wgmma {

struct Descriptor {
  std::uint32_t start, leading, stride, swizzle;
};

inline Descriptor decode(std::uint64_t bits, const std::source_location& site) {
  const Descriptor d{static_cast<std::uint32_t>(bits & 0x3fffu) << 4,
                     static_cast<std::uint32_t>((bits >> 16) & 0x3fffu) << 4,
                     static_cast<std::uint32_t>((bits >> 32) & 0x3fffu) << 4,
                     static_cast<std::uint32_t>(bits >> 62)};
  SOMBRERO_CHECK(((bits >> 49) & 7u) == 0 && (d.swizzle == 0 || d.swizzle == 1), "wgmma at ",
                 site.file_name(), ":", site.line(), ": descriptor ", bits,
                 " uses a base offset or a swizzle mode the SIMT build does not emulate");
  return d;
}

// Shared-memory address of bf16 element (row, k) (k < 16) of an operand, row being m (A)
// or n (B); K-major (core matrices, or 128B rows along k) or MN-major (128B rows along m/n).
inline std::uint32_t element_address(const Descriptor& d, bool mn_major, std::uint32_t row,
                                     std::uint32_t k) {
  std::uint32_t linear;
  if (mn_major)  // rows of 64 m (n) per k; 8-k groups `stride` apart, 64-m ranges `leading`
    linear = d.start + (row / 64) * d.leading + (k / 8) * d.stride + (k % 8) * 128 + (row % 64) * 2;
  else if (d.swizzle == 0)  // core matrices of 8 rows x 16 bytes
    return d.start + (row / 8) * d.stride + (k / 8) * d.leading + (row % 8) * 16 + (k % 8) * 2;
  else  // rows of 128 bytes along k, 8-row atoms `stride` apart
    linear = d.start + (row / 8) * d.stride + (row % 8) * 128 + k * 2;
  return linear ^ (((linear >> 7) & 7u) << 4);  // 128B swizzle: bits 4-6 ^= bits 7-9
}

// Element (row, k) read from the block's shared memory `window` (bounds-checked; the window
// is looked up once per multiply).
inline float element(const ::sombrero::simt::detail::SharedWindow& window, const Descriptor& d,
                     bool mn_major, std::uint32_t row, std::uint32_t k) {
  std::uint16_t bits;
  std::memcpy(&bits, window.at(element_address(d, mn_major, row, k), 2), 2);
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

// This thread's index in its warpgroup; checks that the block is made of whole warpgroups.
inline unsigned warpgroup_thread(const std::source_location& site) {
  const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  SOMBRERO_CHECK(threads % 128 == 0, "wgmma at ", site.file_name(), ":", site.line(),
                 ": a block of ", threads, " threads is not made of whole warpgroups (128)");
  return (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) % 128;
}

template <int N, int TransA, int TransB>
void multiply(float* d, std::uint64_t a_bits, std::uint64_t b_bits, bool accumulate,
              unsigned thread, const std::source_location& site) {
  const Descriptor a = decode(a_bits, site), b = decode(b_bits, site);
  SOMBRERO_CHECK((!TransA || a.swizzle == 1) && (!TransB || b.swizzle == 1), "wgmma at ",
                 site.file_name(), ":", site.line(),
                 ": the SIMT build emulates MN-major operands with the 128B swizzle only");
  // Accumulator i = 4 j + 2 r + c is (row 16 warp + lane / 4 + 8 r, column 8 j + 2 (lane % 4) +
  // c): a thread reads 2 rows of A and N / 4 columns of B, each once (each element read per
  // accumulator, the emulation spent most of its time translating shared addresses).
  const unsigned warp = thread / 32, lane = thread % 32;
  const ::sombrero::simt::detail::SharedWindow window = ::sombrero::simt::detail::shared_window();
  float a_rows[2][16], b_columns[N / 4][16];
  for (unsigned r = 0; r < 2; ++r)
    for (unsigned k = 0; k < 16; ++k)
      a_rows[r][k] = element(window, a, TransA != 0, 16 * warp + lane / 4 + 8 * r, k);
  for (unsigned j = 0; j < N / 8; ++j)
    for (unsigned c = 0; c < 2; ++c)
      for (unsigned k = 0; k < 16; ++k)
        b_columns[2 * j + c][k] = element(window, b, TransB != 0, 8 * j + 2 * (lane % 4) + c, k);
  for (int i = 0; i < N / 2; ++i) {
    const float* const row = a_rows[(i / 2) % 2];
    const float* const column = b_columns[2 * (i / 4) + i % 2];
    double sum = accumulate ? static_cast<double>(d[i]) : 0.0;  // bf16 products: exact
    for (unsigned k = 0; k < 16; ++k) sum += static_cast<double>(row[k]) * column[k];
    d[i] = static_cast<float>(sum);
  }
}

template <int N, int TransA, int TransB>
void wgmma_bf16(float (&d)[N / 2], std::uint64_t desc_a, std::uint64_t desc_b, int scale_d,
                std::source_location site) {
  static_assert((TransA == 0 || TransA == 1) && (TransB == 0 || TransB == 1));
  const unsigned thread = warpgroup_thread(site);
  float* const accumulators = d;
  ::sombrero::simt::detail::async_work([=] {
    multiply<N, TransA, TransB>(accumulators, desc_a, desc_b, scale_d != 0, thread, site);
  });
}

template <int TransA = 0, int TransB = 0>
void wgmma_m64n64k16_bf16(float (&d)[32], std::uint64_t desc_a, std::uint64_t desc_b, int scale_d,
                          std::source_location site = std::source_location::current()) {
  wgmma_bf16<64, TransA, TransB>(d, desc_a, desc_b, scale_d, site);
}
template <int TransA = 0, int TransB = 0>
void wgmma_m64n128k16_bf16(float (&d)[64], std::uint64_t desc_a, std::uint64_t desc_b, int scale_d,
                           std::source_location site = std::source_location::current()) {
  wgmma_bf16<128, TransA, TransB>(d, desc_a, desc_b, scale_d, site);
}

inline void wgmma_fence() {}
inline void fence_proxy_async_shared() {}
template <int Count>
inline void wgmma_fence_accumulators(float (&)[Count]) {}

inline void wgmma_commit() {
  ::sombrero::simt::detail::async_work_commit();
}

template <int N>
inline void wgmma_wait() {
  static_assert(N >= 0, "wgmma.wait_group takes a non-negative group count");
  ::sombrero::simt::detail::async_work_wait(static_cast<unsigned>(N));
}

}  // namespace sombrero::runtime::simt_wgmma
