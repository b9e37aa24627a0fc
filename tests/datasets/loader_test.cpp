// The loader: content, determinism across runs and worker counts, sharding, resume, and
// unreadable samples. Synthetic 8x8x3 images keep it fast.
#include "datasets/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>

#include "datasets/synthetic_dataset.h"
#include "tests/runtime/error_of.h"

namespace sombrero::datasets {
namespace {

// A synthetic dataset in which some samples cannot be read.
class FlakyDataset : public SyntheticDataset {
 public:
  FlakyDataset(std::size_t size, std::set<std::size_t> bad)
      : SyntheticDataset(size, 10, ImageShape{8, 8, 3}, 5), bad_(std::move(bad)) {}
  Image decode(std::size_t index, const DecodeRequest& request = {}) const override {
    if (bad_.count(index)) throw UnreadableImage(describe(index), "broken on purpose");
    return SyntheticDataset::decode(index, request);
  }

 private:
  std::set<std::size_t> bad_;
};

struct CopiedBatch {
  std::vector<std::uint8_t> images;
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> samples;
  bool operator==(const CopiedBatch&) const = default;
};

std::shared_ptr<const Dataset> synthetic(std::size_t size) {
  return std::make_shared<SyntheticDataset>(size, 10, ImageShape{8, 8, 3}, 5);
}

TransformSpec augmenting() {
  TransformSpec spec;
  spec.geometry = Geometry::pad_crop;
  spec.padding = 2;
  spec.hflip = true;
  return spec;
}

std::vector<CopiedBatch> read_epoch(Loader& loader, LoaderPosition start) {
  loader.start(start);
  std::vector<CopiedBatch> batches;
  while (const Batch* batch = loader.next()) {
    const std::size_t bytes = batch->size * batch->shape.pixels();
    batches.push_back(CopiedBatch{{batch->images, batch->images + bytes},
                                  {batch->labels, batch->labels + batch->size},
                                  {batch->samples, batch->samples + batch->size}});
  }
  return batches;
}

std::vector<CopiedBatch> read_epoch(const std::shared_ptr<const Dataset>& data,
                                    LoaderOptions options, std::int64_t epoch) {
  Loader loader(data, Transform(augmenting(), *data), options);
  return read_epoch(loader, LoaderPosition{epoch, 0});
}

TEST(Loader, BatchesHoldTheTransformedSamplesAndTheirLabels) {
  const auto data = synthetic(50);
  const Transform transform(augmenting(), *data);
  LoaderOptions options;
  options.batch_size = 8;
  options.workers = 2;
  options.seed = 9;
  options.drop_last = false;
  Loader loader(data, transform, options);
  EXPECT_EQ(loader.batches_per_epoch(), 7);
  const auto batches = read_epoch(loader, LoaderPosition{2, 0});
  ASSERT_EQ(batches.size(), 7u);
  EXPECT_EQ(batches.back().labels.size(), 2u);  // 50 = 6 * 8 + 2
  std::set<std::int64_t> seen;
  std::vector<std::uint8_t> expected(8 * 8 * 3);
  for (const CopiedBatch& batch : batches) {
    for (std::size_t i = 0; i < batch.samples.size(); ++i) {
      const auto sample = static_cast<std::size_t>(batch.samples[i]);
      seen.insert(batch.samples[i]);
      EXPECT_EQ(batch.labels[i], data->label(sample));
      transform.load(*data, sample, SampleKey{9, 2, sample}, expected.data());
      EXPECT_EQ(0, std::memcmp(expected.data(), batch.images.data() + i * expected.size(),
                               expected.size()));
    }
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(loader.position(), (LoaderPosition{2, 7}));
  options.drop_last = true;
  EXPECT_EQ(Loader(data, transform, options).batches_per_epoch(), 6);
}

TEST(Loader, EpochsAreTheSameForAnyWorkerCountAndPrefetch) {
  const auto data = synthetic(60);
  LoaderOptions options;
  options.batch_size = 7;
  options.seed = 4;
  options.workers = 1;
  options.prefetch = 1;
  const auto reference = read_epoch(data, options, 3);
  ASSERT_EQ(reference.size(), 8u);
  for (const auto& [workers, prefetch] : {std::pair{1, 1}, std::pair{3, 1}, std::pair{4, 5}}) {
    options.workers = workers;
    options.prefetch = prefetch;
    EXPECT_EQ(read_epoch(data, options, 3), reference) << workers << " workers";
  }
  EXPECT_NE(read_epoch(data, options, 4), reference);  // another epoch, another order
}

TEST(Loader, RanksReadDisjointSamplesCoveringTheEpoch) {
  const auto data = synthetic(48);
  LoaderOptions options;
  options.batch_size = 4;
  options.workers = 2;
  options.shard.world_size = 3;
  std::multiset<std::int64_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    options.shard.rank = rank;
    const auto batches = read_epoch(data, options, 1);
    EXPECT_EQ(batches.size(), 4u);  // 16 samples per rank
    for (const CopiedBatch& batch : batches)
      seen.insert(batch.samples.begin(), batch.samples.end());
  }
  EXPECT_EQ(seen.size(), 48u);
  EXPECT_EQ(std::set<std::int64_t>(seen.begin(), seen.end()).size(), 48u);
}

TEST(Loader, ResumingAtBatchKGivesExactlyTheRemainingBatches) {
  const auto data = synthetic(40);
  LoaderOptions options;
  options.batch_size = 6;
  options.workers = 3;
  options.prefetch = 2;
  options.seed = 21;
  const auto full = read_epoch(data, options, 5);
  ASSERT_EQ(full.size(), 6u);
  for (const std::int64_t k : {0, 1, 4, 6}) {
    Loader loader(data, Transform(augmenting(), *data), options);
    const auto rest = read_epoch(loader, LoaderPosition{5, k});
    EXPECT_EQ(rest, std::vector<CopiedBatch>(full.begin() + k, full.end())) << "k = " << k;
  }
  // The position a checkpoint stores mid-epoch resumes at the same place.
  Loader loader(data, Transform(augmenting(), *data), options);
  loader.start(LoaderPosition{5, 0});
  loader.next();
  loader.next();
  EXPECT_EQ(loader.position(), (LoaderPosition{5, 2}));
  const auto rest = read_epoch(loader, loader.position());
  EXPECT_EQ(rest, std::vector<CopiedBatch>(full.begin() + 2, full.end()));
}

TEST(Loader, ReplacesUnreadableSamplesAndCountsThem) {
  const auto data = std::make_shared<FlakyDataset>(40, std::set<std::size_t>{3, 17});
  LoaderOptions options;
  options.batch_size = 8;
  options.workers = 2;
  options.max_bad_fraction = 0.05;  // 2 of 40 allowed
  options.drop_last = false;
  Loader loader(data, Transform(TransformSpec{}, *data), options);
  const auto batches = read_epoch(loader, LoaderPosition{0, 0});
  std::size_t count = 0;
  for (const CopiedBatch& batch : batches) {
    count += batch.samples.size();
    for (const auto sample : batch.samples) {
      EXPECT_NE(sample, 3);
      EXPECT_NE(sample, 17);
    }
  }
  EXPECT_EQ(count, 40u);
  EXPECT_EQ(loader.stats().unreadable_samples, 2);
  EXPECT_GE(loader.stats().replacements, 2);
  // Deterministic stand-ins: a second loader with 1 worker reads the same epoch.
  options.workers = 1;
  Loader again(data, Transform(TransformSpec{}, *data), options);
  EXPECT_EQ(read_epoch(again, LoaderPosition{0, 0}), batches);
}

TEST(Loader, TooManyUnreadableSamplesStopWithAClearError) {
  const auto data = std::make_shared<FlakyDataset>(40, std::set<std::size_t>{3, 17});
  LoaderOptions options;
  options.batch_size = 8;
  options.workers = 2;
  options.max_bad_fraction = 0.03;  // 1 of 40 allowed
  Loader loader(data, Transform(TransformSpec{}, *data), options);
  const std::string message = test_support::error_of([&] {
    read_epoch(loader, LoaderPosition{0, 0});
  });
  EXPECT_NE(message.find("2 unreadable images out of 40 exceed data.max_bad_fraction 0.03"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("synthetic sample "), std::string::npos) << message;
}

}  // namespace
}  // namespace sombrero::datasets
