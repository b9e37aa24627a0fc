#include "datasets/sampler.h"

#include <cstdint>
#include <numeric>
#include <utility>

#include "datasets/sample_random.h"
#include "runtime/error.h"

namespace sombrero::datasets {

std::vector<std::int64_t> epoch_order(std::int64_t n, bool shuffle, std::uint64_t seed,
                                      std::int64_t epoch) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (!shuffle) return order;
  // Fisher-Yates from the top; draw i picks among 0..i. One Philox stream per epoch.
  SampleRandom random(SampleKey{seed, epoch, 0}, RandomPurpose::shuffle);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(random.below(static_cast<std::uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::int64_t shard_size(std::int64_t n, const ShardSpec& shard) {
  SOMBRERO_CHECK(shard.world_size >= 1 && shard.rank >= 0 && shard.rank < shard.world_size, "rank ",
                 shard.rank, " is not in a world of ", shard.world_size);
  return shard.remainder == ShardRemainder::pad ? (n + shard.world_size - 1) / shard.world_size
                                                : n / shard.world_size;
}

std::vector<std::int64_t> shard_indices(std::int64_t n, const ShardSpec& shard, bool shuffle,
                                        std::uint64_t seed, std::int64_t epoch) {
  const std::int64_t per_rank = shard_size(n, shard);
  SOMBRERO_CHECK(per_rank > 0, "a dataset of ", n, " samples leaves nothing for each of ",
                 shard.world_size, " ranks");
  const std::vector<std::int64_t> order = epoch_order(n, shuffle, seed, epoch);
  std::vector<std::int64_t> mine(static_cast<std::size_t>(per_rank));
  for (std::int64_t k = 0; k < per_rank; ++k) {
    const std::int64_t position = shard.rank + k * shard.world_size;  // in the padded order
    mine[k] = order[position % n];
  }
  return mine;
}

}  // namespace sombrero::datasets
