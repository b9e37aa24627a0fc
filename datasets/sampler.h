// Which samples a rank reads in an epoch, and in what order: torch's DistributedSampler.
//
// The epoch's order is 0..n-1, or (shuffle) a permutation that is a function of (seed, epoch)
// only (Fisher-Yates driven by Philox, datasets/sample_random.h). With world_size ranks the
// order is first made a multiple of world_size, by repeating its first samples (pad, the
// DistributedSampler default, so every sample is seen) or by dropping its tail (drop), and
// rank r takes positions r, r + world_size, r + 2 world_size, ... Ranks see disjoint
// positions that together cover the (padded) epoch, and all have the same count.
#pragma once

#include <cstdint>
#include <vector>

namespace sombrero::datasets {

enum class ShardRemainder { pad, drop };

struct ShardSpec {
  int rank = 0;
  int world_size = 1;
  ShardRemainder remainder = ShardRemainder::pad;
};

// The order of epoch `epoch` over n samples.
std::vector<std::int64_t> epoch_order(std::int64_t n, bool shuffle, std::uint64_t seed,
                                      std::int64_t epoch);

// Samples per rank and epoch.
std::int64_t shard_size(std::int64_t n, const ShardSpec& shard);

// This rank's samples of epoch `epoch`, in the order it reads them.
std::vector<std::int64_t> shard_indices(std::int64_t n, const ShardSpec& shard, bool shuffle,
                                        std::uint64_t seed, std::int64_t epoch);

}  // namespace sombrero::datasets
