// The `data:` section of a run config turned into dataset, transform, loader options and
// normalisation; and the shipped Fashion-MNIST config end to end (one normalised batch).
#include "datasets/make_dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "datasets/normalize.h"
#include "runtime/config/run_config_schema.h"
#include "tests/runtime/error_of.h"

namespace sombrero::datasets {
namespace {

runtime::Config config_of(const std::string& data_yaml, const std::vector<std::string>& sets = {}) {
  return runtime::parse_config("model: {name: lenet}\ndata:\n" + data_yaml, "test.yaml", sets,
                               runtime::run_config_schema());
}

// Images of varying size (as a folder dataset) without files.
class VaryingSizeStub : public Dataset {
 public:
  std::size_t size() const override { return 1; }
  int num_classes() const override { return 1; }
  int label(std::size_t) const override { return 0; }
  int channels() const override { return 3; }
  std::optional<ImageShape> fixed_shape() const override { return std::nullopt; }
  Image decode(std::size_t, const DecodeRequest&) const override { return {}; }
  std::string describe(std::size_t) const override { return "stub"; }
};

TEST(MakeDataset, SyntheticTrainAndTestWithShardedBatches) {
  const auto config = config_of(
      "  dataset: synthetic\n  synthetic_samples: 40\n  image_size: 12\n  batch_size: 8\n"
      "  shard_remainder: drop\n  augment: {crop_padding: 2}\n");
  const auto train = make_dataset(config, Split::train);
  const auto test = make_dataset(config, Split::test);
  EXPECT_EQ(train->size(), 40u);
  EXPECT_EQ(*train->fixed_shape(), (ImageShape{12, 12, 3}));
  EXPECT_NE(train->decode(0).pixels, test->decode(0).pixels);  // different seeds per split
  const TransformSpec spec = make_transform_spec(config, Split::train, *train);
  EXPECT_EQ(spec.geometry, Geometry::pad_crop);
  EXPECT_EQ(spec.padding, 2);
  EXPECT_TRUE(spec.hflip);
  EXPECT_EQ(make_transform_spec(config, Split::test, *test).geometry, Geometry::native);
  const LoaderOptions options = make_loader_options(config, Split::train, 1, 2);
  EXPECT_EQ(options.batch_size, 4);
  EXPECT_EQ(options.shard.rank, 1);
  EXPECT_EQ(options.shard.remainder, ShardRemainder::drop);
  EXPECT_TRUE(options.shuffle);
  const LoaderOptions eval = make_loader_options(config, Split::test, 1, 2);
  EXPECT_FALSE(eval.shuffle);
  EXPECT_FALSE(eval.drop_last);
  EXPECT_NE(test_support::error_of([&] {
              make_loader_options(config, Split::train, 0, 3);
            }).find("data.batch_size 8 does not split evenly across 3 ranks"),
            std::string::npos);
}

TEST(MakeDataset, ImageNetStyleTransforms) {
  const VaryingSizeStub stub;
  const auto config = config_of(
      "  dataset: folder\n  path: /nowhere\n  image_size: 224\n"
      "  augment: {random_resized_crop: true, scale: [0.25, 1.0]}\n");
  const TransformSpec train = make_transform_spec(config, Split::train, stub);
  EXPECT_EQ(train.geometry, Geometry::random_resized_crop);
  EXPECT_EQ(train.size, 224);
  EXPECT_EQ(train.scale_min, 0.25);
  const TransformSpec eval = make_transform_spec(config, Split::test, stub);
  EXPECT_EQ(eval.geometry, Geometry::resize_center_crop);
  EXPECT_EQ(eval.size, 224);
  EXPECT_EQ(eval.resize, 256);
  const TransformSpec eval_288 = make_transform_spec(
      config_of("  dataset: folder\n  eval_crop: 288\n  eval_resize: 320\n"), Split::test, stub);
  EXPECT_EQ(eval_288.size, 288);
  EXPECT_EQ(eval_288.resize, 320);
  EXPECT_NE(test_support::error_of([&] {
              make_transform_spec(config_of("  dataset: folder\n"), Split::test, stub);
            }).find("data.eval_crop (or data.image_size) must be set"),
            std::string::npos);
}

TEST(MakeDataset, NormalizationDefaultsPerDataset) {
  EXPECT_EQ(make_normalization(config_of("  dataset: cifar10\n")).mean,
            (std::vector<double>{0.4914, 0.4822, 0.4465}));
  EXPECT_EQ(make_normalization(config_of("  dataset: imagenet\n")).std,
            (std::vector<double>{0.229, 0.224, 0.225}));
  EXPECT_EQ(make_normalization(config_of("  dataset: mnist\n  mean: [0.5]\n")).mean,
            (std::vector<double>{0.5}));
}

TEST(MakeDataset, ShippedFashionMnistConfigGivesNormalisedBatches) {
  if (!std::filesystem::is_directory("/usr/share/datasets/fashion-mnist")) {
    GTEST_SKIP() << "/usr/share/datasets/fashion-mnist is absent (dataset-fashion-mnist)";
  }
  const runtime::Config config =
      runtime::load_config(std::string(SOMBRERO_SOURCE_DIR) + "/configs/fashion_mnist.yaml",
                           {"data.workers=2"}, runtime::run_config_schema());
  const auto train = make_dataset(config, Split::train);
  Loader loader(train, make_transform(config, Split::train, *train),
                make_loader_options(config, Split::train, 0, 1));
  EXPECT_EQ(loader.batches_per_epoch(), 60000 / 128);
  loader.start(LoaderPosition{0, 0});
  const Batch* batch = loader.next();
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->size, 128);
  EXPECT_EQ(batch->shape, (ImageShape{28, 28, 1}));
  const Normalization norm = make_normalization(config);
  std::vector<float> values(batch->size * batch->shape.pixels());
  normalize_to_f32(batch->images, values.size(), 1, norm.mean, norm.std, values.data());
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  EXPECT_NEAR(*lo, -0.2860 / 0.3530, 1e-5);  // black background (and zero padding)
  EXPECT_NEAR(*hi, (1 - 0.2860) / 0.3530, 1e-5);
}

}  // namespace
}  // namespace sombrero::datasets
