// Generator: the state of sombrero's random fills, a Philox key (the seed) and a counter
// offset. A fill of n elements draws Philox blocks offset .. offset + ceil(n/4) - 1 (four
// values per block, element i from block offset + i/4, word i%4; see runtime/philox.h) and
// then advances the offset past them. The value of element i therefore depends only on
// (seed, offset, i): the CPU, CUDA and SIMT fills produce the same numbers, and saving
// (seed, offset) in a checkpoint is enough to continue the stream exactly.
#pragma once

#include <cstdint>

#include "runtime/philox.h"

namespace sombrero::runtime {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0, std::uint64_t offset = 0)
      : seed_(seed), offset_(offset) {}

  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }  // in Philox blocks of four values
  void set_offset(std::uint64_t offset) { offset_ = offset; }
  PhiloxKey key() const { return philox_key(seed_); }

  // Reserves the blocks of a fill of `count` elements: returns the first block and advances
  // the offset by ceil(count / 4).
  std::uint64_t reserve(std::uint64_t count) {
    const std::uint64_t first = offset_;
    offset_ += (count + 3) / 4;
    return first;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_;
};

}  // namespace sombrero::runtime
