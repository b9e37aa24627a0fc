// Counter-based randomness of the input pipeline: every random choice about a sample is a
// pure function of (seed, epoch, sample index, purpose), drawn from Philox4x32-10
// (runtime/philox.h). Which thread decodes a sample, how many there are, and whether the run
// was resumed mid-epoch change nothing.
//
// Counter words: (index low, index high, epoch, purpose << 24 | block); key: the seed.
#pragma once

#include <cmath>
#include <cstdint>

#include "runtime/philox.h"

namespace sombrero::datasets {

// What the numbers are for; streams of different purposes never share a counter.
enum class RandomPurpose : std::uint32_t {
  augment = 1,   // crops, flips
  shuffle = 2,   // the epoch's permutation (index = block number)
  replace = 3,   // the stand-in for an unreadable sample
  synthetic = 4  // synthetic images and labels (epoch = 0)
};

struct SampleKey {
  std::uint64_t seed = 0;
  std::int64_t epoch = 0;
  std::uint64_t index = 0;
};

class SampleRandom {
 public:
  SampleRandom(const SampleKey& key, RandomPurpose purpose)
      : key_(runtime::philox_key(key.seed)),
        index_(key.index),
        epoch_(static_cast<std::uint32_t>(key.epoch)),
        purpose_(static_cast<std::uint32_t>(purpose) << 24) {}

  std::uint32_t next_u32() {
    if (used_ == 4) {
      const runtime::PhiloxCounter counter{{static_cast<std::uint32_t>(index_),
                                            static_cast<std::uint32_t>(index_ >> 32), epoch_,
                                            purpose_ | (block_++ & 0xFFFFFFu)}};
      words_ = runtime::philox4x32_10(counter, key_);
      used_ = 0;
    }
    return words_.word[used_++];
  }

  // Uniform in [0, 1) with 53 random bits.
  double unit() {
    const std::uint64_t high = next_u32() >> 5;  // 27 bits
    const std::uint64_t low = next_u32() >> 6;   // 26 bits
    return static_cast<double>((high << 26) | low) * 0x1p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
  // Uniform integer in [0, bound), bound >= 1 (64 bits modulo bound: bias below bound/2^64).
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t bits = (std::uint64_t{next_u32()} << 32) | next_u32();
    return bits % bound;
  }
  bool coin() { return (next_u32() >> 31) != 0; }

 private:
  runtime::PhiloxKey key_;
  std::uint64_t index_;
  std::uint32_t epoch_;
  std::uint32_t purpose_;
  std::uint32_t block_ = 0;
  runtime::PhiloxCounter words_{};
  int used_ = 4;
};

}  // namespace sombrero::datasets
