// Philox4x32-10 counter-based random numbers (Salmon, Moraes, Dror, Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011), the same generator as Random123's philox4x32 and
// cuRAND's Philox. A pure function of a 128-bit counter and a 64-bit key, so any element of
// a random fill can be computed independently by any thread of any backend.
//
// One round maps counter (c0, c1, c2, c3) with key (k0, k1) to
//   (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0)),
// with M0 = 0xD2511F53, M1 = 0xCD9E8D57 and hi/lo the halves of the 64-bit product; between
// rounds the key is bumped by the Weyl constants (0x9E3779B9, 0xBB67AE85). Ten rounds. Checked
// against Random123's known-answer vectors in tests/runtime/philox_test.cpp.
//
// Mappings to floats (identical bits on the host, under nvcc and in the SIMT build, because
// they use only integer operations, exactly rounded IEEE operations and explicit fmaf):
//   uniform: (x >> 8) * 2^-24, the 24 high bits as a float in [0, 1) on a grid of 2^-24,
//            every value exactly representable; then lo + (hi - lo) * u as one fmaf.
//   normal:  Box-Muller on a pair of words (a, b): u1 = ((a >> 8) + 1) * 2^-24 in (0, 1]
//            (never 0, so the log is finite), u2 = (b >> 8) * 2^-24, r = sqrt(-2 ln u1),
//            z0 = r cos(2 pi u2), z1 = r sin(2 pi u2). |z| <= sqrt(48 ln 2) = 5.77, i.e.
//            tails beyond 5.77 sigma (probability 8e-9) are cut off. logf/cosf/sinf differ by
//            a few ulp between the host libm and CUDA's, so normal values agree to ~1e-6
//            relative across backends, not bitwise.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SOMBRERO_PHILOX_FN __host__ __device__ inline
#else
#define SOMBRERO_PHILOX_FN inline
#endif

namespace sombrero::runtime {

struct PhiloxCounter {
  std::uint32_t word[4];
};

struct PhiloxKey {
  std::uint32_t word[2];
};

SOMBRERO_PHILOX_FN PhiloxCounter philox4x32_round(PhiloxCounter c, PhiloxKey k) {
  const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c.word[0];
  const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c.word[2];
  return PhiloxCounter{{static_cast<std::uint32_t>(p1 >> 32) ^ c.word[1] ^ k.word[0],
                        static_cast<std::uint32_t>(p1),
                        static_cast<std::uint32_t>(p0 >> 32) ^ c.word[3] ^ k.word[1],
                        static_cast<std::uint32_t>(p0)}};
}

// Philox4x32 with 10 rounds.
SOMBRERO_PHILOX_FN PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) {
  counter = philox4x32_round(counter, key);
  for (int round = 1; round < 10; ++round) {
    key.word[0] += 0x9E3779B9u;
    key.word[1] += 0xBB67AE85u;
    counter = philox4x32_round(counter, key);
  }
  return counter;
}

// The key of a 64-bit seed and the counter of a 64-bit block index (upper words zero).
SOMBRERO_PHILOX_FN PhiloxKey philox_key(std::uint64_t seed) {
  return PhiloxKey{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
}
SOMBRERO_PHILOX_FN PhiloxCounter philox_counter(std::uint64_t block) {
  return PhiloxCounter{
      {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32), 0u, 0u}};
}

// A float in [0, 1) from the 24 high bits of x (exact; largest value 1 - 2^-24).
SOMBRERO_PHILOX_FN float philox_to_unit(std::uint32_t x) {
  return static_cast<float>(x >> 8) * 0x1p-24f;
}

// The four values of block `block` of a uniform fill in [lo, hi): element i of the fill is
// value[i % 4] of block offset + i / 4.
SOMBRERO_PHILOX_FN void philox_uniform4(PhiloxKey key, std::uint64_t block, float lo, float hi,
                                        float value[4]) {
  const PhiloxCounter bits = philox4x32_10(philox_counter(block), key);
  const float span = hi - lo;
  for (int j = 0; j < 4; ++j) value[j] = fmaf(span, philox_to_unit(bits.word[j]), lo);
}

// Box-Muller of two Philox words: a standard normal pair (r cos(2 pi u2), r sin(2 pi u2)).
SOMBRERO_PHILOX_FN void philox_box_muller(std::uint32_t a, std::uint32_t b, float pair[2]) {
  constexpr float two_pi = 6.28318530717958647692f;
  const float u1 = static_cast<float>((a >> 8) + 1u) * 0x1p-24f;  // (0, 1]
  const float radius = sqrtf(-2.0f * logf(u1));
  const float angle = two_pi * philox_to_unit(b);
  pair[0] = radius * cosf(angle);
  pair[1] = radius * sinf(angle);
}

// The four values of block `block` of a normal fill with mean and stddev: Box-Muller on
// words (0, 1) gives values 0 and 1, on words (2, 3) values 2 and 3.
SOMBRERO_PHILOX_FN void philox_normal4(PhiloxKey key, std::uint64_t block, float mean, float stddev,
                                       float value[4]) {
  const PhiloxCounter bits = philox4x32_10(philox_counter(block), key);
  for (int pair = 0; pair < 2; ++pair) {
    float z[2];
    philox_box_muller(bits.word[2 * pair], bits.word[2 * pair + 1], z);
    value[2 * pair] = fmaf(stddev, z[0], mean);
    value[2 * pair + 1] = fmaf(stddev, z[1], mean);
  }
}

}  // namespace sombrero::runtime
