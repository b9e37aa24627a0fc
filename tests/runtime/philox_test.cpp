// Philox4x32-10 against Random123's published known-answer vectors (its tests/kat_vectors,
// also used by TensorFlow's and Random123-Boost's Philox tests), and the float mappings.
#include "runtime/philox.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace sombrero::runtime {
namespace {

struct KnownAnswer {
  PhiloxCounter counter;
  PhiloxKey key;
  PhiloxCounter expected;
};

TEST(Philox4x32_10, MatchesRandom123KnownAnswerVectors) {
  const KnownAnswer vectors[] = {
      {{{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}},
       {{0x00000000u, 0x00000000u}},
       {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       {{0xffffffffu, 0xffffffffu}},
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       {{0xa4093822u, 0x299f31d0u}},
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const KnownAnswer& v : vectors) {
    const PhiloxCounter out = philox4x32_10(v.counter, v.key);
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(out.word[j], v.expected.word[j])
          << "word " << j << " for counter 0x" << std::hex << v.counter.word[0];
  }
}

TEST(Philox4x32_10, SeedAndBlockMapToKeyAndCounterWords) {
  const PhiloxKey key = philox_key(0x299f31d0a4093822ull);
  EXPECT_EQ(key.word[0], 0xa4093822u);
  EXPECT_EQ(key.word[1], 0x299f31d0u);
  const PhiloxCounter counter = philox_counter(0x85a308d3243f6a88ull);
  EXPECT_EQ(counter.word[0], 0x243f6a88u);
  EXPECT_EQ(counter.word[1], 0x85a308d3u);
  EXPECT_EQ(counter.word[2], 0u);
  EXPECT_EQ(counter.word[3], 0u);
}

TEST(PhiloxUniform, UsesThe24HighBitsAndStaysBelowOne) {
  EXPECT_EQ(philox_to_unit(0u), 0.0f);
  EXPECT_EQ(philox_to_unit(0x000000ffu), 0.0f);  // the low 8 bits are dropped
  EXPECT_EQ(philox_to_unit(0x80000000u), 0.5f);
  EXPECT_EQ(philox_to_unit(0xffffffffu), 1.0f - 0x1p-24f);
  EXPECT_LT(philox_to_unit(0xffffffffu), 1.0f);
}

TEST(PhiloxUniform, FourValuesOfABlockAreItsWordsMappedToTheRange) {
  const PhiloxKey key = philox_key(7);
  const PhiloxCounter bits = philox4x32_10(philox_counter(11), key);
  float value[4];
  philox_uniform4(key, 11, -2.0f, 6.0f, value);
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(value[j], std::fmaf(8.0f, philox_to_unit(bits.word[j]), -2.0f));
    EXPECT_GE(value[j], -2.0f);
    EXPECT_LT(value[j], 6.0f);
  }
}

TEST(PhiloxNormal, IsBoxMullerOnWordPairs) {
  const PhiloxKey key = philox_key(3);
  const PhiloxCounter bits = philox4x32_10(philox_counter(5), key);
  float value[4];
  philox_normal4(key, 5, 0.0f, 1.0f, value);
  for (int pair = 0; pair < 2; ++pair) {
    const double u1 = ((bits.word[2 * pair] >> 8) + 1.0) / 16777216.0;
    const double u2 = (bits.word[2 * pair + 1] >> 8) / 16777216.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double two_pi = 6.283185307179586;
    EXPECT_NEAR(value[2 * pair], r * std::cos(two_pi * u2), 1e-5);
    EXPECT_NEAR(value[2 * pair + 1], r * std::sin(two_pi * u2), 1e-5);
  }
  float shifted[4];
  philox_normal4(key, 5, 10.0f, 2.0f, shifted);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(shifted[j], std::fmaf(2.0f, value[j], 10.0f));
}

TEST(PhiloxNormal, ExtremeWordsGiveFiniteValuesWithinTheDocumentedBound) {
  float z[2];
  // Smallest u1 = 2^-24 (never 0): r = sqrt(-2 ln 2^-24) = sqrt(48 ln 2) = 5.7686; angle 0.
  philox_box_muller(0x00000000u, 0x00000000u, z);
  EXPECT_NEAR(z[0], std::sqrt(48.0 * std::log(2.0)), 1e-5);
  EXPECT_EQ(z[1], 0.0f);
  // Largest u1 = 1: r = 0 whatever the angle.
  philox_box_muller(0xffffffffu, 0x12345678u, z);
  EXPECT_EQ(z[0], 0.0f);
  EXPECT_EQ(std::fabs(z[1]), 0.0f);
  // A quarter turn: u2 = 0.25 puts the radius on the sine.
  philox_box_muller(0x00000000u, 0x40000000u, z);
  EXPECT_NEAR(z[0], 0.0f, 1e-5);
  EXPECT_NEAR(z[1], std::sqrt(48.0 * std::log(2.0)), 1e-5);
}

}  // namespace
}  // namespace sombrero::runtime
