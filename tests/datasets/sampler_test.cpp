// Epoch orders and DistributedSampler sharding.
#include "datasets/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>

#include "tests/runtime/error_of.h"

namespace sombrero::datasets {
namespace {

TEST(Sampler, ShuffleIsAPermutationFixedBySeedAndEpoch) {
  const auto order = epoch_order(1000, true, 7, 3);
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(order, identity);
  EXPECT_EQ(order, epoch_order(1000, true, 7, 3));
  EXPECT_NE(order, epoch_order(1000, true, 7, 4));
  EXPECT_NE(order, epoch_order(1000, true, 8, 3));
  EXPECT_EQ(epoch_order(1000, false, 7, 3), identity);
}

TEST(Sampler, PaddedShardsAreDisjointAndCoverTheEpoch) {
  // 10 samples over 3 ranks: 4 each; the padded order repeats its first 2 samples.
  const auto order = epoch_order(10, true, 1, 0);
  std::map<std::int64_t, int> seen;
  for (int rank = 0; rank < 3; ++rank) {
    const auto mine = shard_indices(10, ShardSpec{rank, 3, ShardRemainder::pad}, true, 1, 0);
    ASSERT_EQ(mine.size(), 4u);
    for (std::size_t k = 0; k < mine.size(); ++k) {
      EXPECT_EQ(mine[k], order[(rank + 3 * k) % 10]);
      ++seen[mine[k]];
    }
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen[order[0]], 2);
  EXPECT_EQ(seen[order[1]], 2);
}

TEST(Sampler, DroppedRemainderLeavesDistinctSamples) {
  std::map<std::int64_t, int> seen;
  for (int rank = 0; rank < 3; ++rank) {
    const auto mine = shard_indices(10, ShardSpec{rank, 3, ShardRemainder::drop}, true, 1, 0);
    ASSERT_EQ(mine.size(), 3u);
    for (const auto index : mine) ++seen[index];
  }
  EXPECT_EQ(seen.size(), 9u);
  for (const auto& [index, count] : seen) EXPECT_EQ(count, 1) << index;
}

TEST(Sampler, RejectsARankOutsideTheWorld) {
  EXPECT_NE(test_support::error_of([] {
              shard_indices(10, ShardSpec{2, 2}, false, 0, 0);
            }).find("rank 2 is not in a world of 2"),
            std::string::npos);
}

}  // namespace
}  // namespace sombrero::datasets
