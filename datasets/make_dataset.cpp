#include "datasets/make_dataset.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "datasets/cifar_dataset.h"
#include "datasets/folder_dataset.h"
#include "datasets/idx_dataset.h"
#include "datasets/imagenet_dataset.h"
#include "datasets/synthetic_dataset.h"

namespace sombrero::datasets {

namespace {

std::string path_of(const runtime::Config& config) {
  const auto path = config.get<std::string>("data.path");
  SOMBRERO_CHECK(!path.empty(), "data.path is empty (", config.origin("data.path"),
                 "): set it to the dataset folder");
  return path;
}

}  // namespace

std::shared_ptr<const Dataset> make_dataset(const runtime::Config& config, Split split) {
  const auto name = config.get<std::string>("data.dataset");
  if (name == "fashion_mnist" || name == "mnist") {
    return load_mnist(path_of(config), split,
                      name == "mnist" ? MnistKind::mnist : MnistKind::fashion_mnist);
  }
  if (name == "cifar10" || name == "cifar100") {
    return load_cifar(path_of(config), split,
                      name == "cifar10" ? CifarKind::cifar10 : CifarKind::cifar100);
  }
  if (name == "imagenet") return load_imagenet(path_of(config), split);
  if (name == "folder") return load_image_folder(path_of(config));
  if (name == "synthetic") {
    const int side =
        config.get<int>("data.image_size") > 0 ? config.get<int>("data.image_size") : 32;
    const int classes =
        config.get<int>("model.num_classes") > 0 ? config.get<int>("model.num_classes") : 10;
    const auto seed = static_cast<std::uint64_t>(config.get<std::int64_t>("train.seed"));
    return std::make_shared<SyntheticDataset>(
        static_cast<std::size_t>(config.get<std::int64_t>("data.synthetic_samples")), classes,
        ImageShape{side, side, 3}, split == Split::train ? seed : seed ^ 0x5EED5EEDu);
  }
  SOMBRERO_FAIL("unknown data.dataset '", name, "'");
}

TransformSpec make_transform_spec(const runtime::Config& config, Split split,
                                  const Dataset& dataset) {
  TransformSpec spec;
  spec.antialias = config.get<bool>("data.antialias");
  const int image_size = config.get<int>("data.image_size");
  const bool fixed = dataset.fixed_shape().has_value();
  if (split == Split::train) {
    spec.hflip = config.get<bool>("data.augment.hflip");
    if (config.get<bool>("data.augment.random_resized_crop")) {
      const auto scale = config.get<std::vector<double>>("data.augment.scale");
      const auto ratio = config.get<std::vector<double>>("data.augment.ratio");
      spec.geometry = Geometry::random_resized_crop;
      spec.size = image_size > 0 ? image_size : 224;
      spec.scale_min = scale[0];
      spec.scale_max = scale[1];
      spec.ratio_min = ratio[0];
      spec.ratio_max = ratio[1];
    } else if (fixed) {
      spec.geometry = Geometry::pad_crop;
      spec.padding = config.get<int>("data.augment.crop_padding");
      spec.size = image_size;
    } else {
      SOMBRERO_CHECK(image_size > 0, "data.image_size must be set for images of varying size ",
                     "(or use data.augment.random_resized_crop)");
      spec.geometry = Geometry::resize_center_crop;
      spec.size = image_size;
      spec.resize = static_cast<int>(std::lround(image_size * 256.0 / 224.0));
    }
    return spec;
  }
  const int resize = config.get<int>("data.eval_resize");
  const int crop =
      config.get<int>("data.eval_crop") > 0 ? config.get<int>("data.eval_crop") : image_size;
  if (fixed && resize == 0 && config.get<int>("data.eval_crop") == 0) return spec;  // native
  SOMBRERO_CHECK(crop > 0,
                 "data.eval_crop (or data.image_size) must be set to evaluate images "
                 "of varying size");
  spec.geometry = Geometry::resize_center_crop;
  spec.size = crop;
  spec.resize =
      resize > 0 ? resize : (fixed ? 0 : static_cast<int>(std::lround(crop * 256.0 / 224.0)));
  return spec;
}

Transform make_transform(const runtime::Config& config, Split split, const Dataset& dataset) {
  return Transform(make_transform_spec(config, split, dataset), dataset);
}

LoaderOptions make_loader_options(const runtime::Config& config, Split split, int rank,
                                  int world_size) {
  LoaderOptions options;
  const int global = config.get<int>("data.batch_size");
  if (split == Split::train) {
    SOMBRERO_CHECK(global % world_size == 0, "data.batch_size ", global,
                   " does not split evenly across ", world_size, " ranks");
    options.batch_size = global / world_size;
    options.shuffle = config.get<bool>("data.shuffle");
    options.drop_last = config.get<bool>("data.drop_last");
  } else {
    const int eval = config.get<int>("data.eval_batch_size");
    options.batch_size = std::max(1, (eval > 0 ? eval : global) / world_size);
    options.shuffle = false;
    options.drop_last = false;
  }
  options.workers = config.get<int>("data.workers");
  options.prefetch = config.get<int>("data.prefetch");
  options.seed = static_cast<std::uint64_t>(config.get<std::int64_t>("train.seed"));
  options.max_bad_fraction = config.get<double>("data.max_bad_fraction");
  options.shard =
      ShardSpec{rank, world_size,
                config.get<std::string>("data.shard_remainder") == "drop" ? ShardRemainder::drop
                                                                          : ShardRemainder::pad};
  return options;
}

Normalization make_normalization(const runtime::Config& config) {
  Normalization norm{config.get<std::vector<double>>("data.mean"),
                     config.get<std::vector<double>>("data.std")};
  const auto name = config.get<std::string>("data.dataset");
  Normalization fallback;
  if (name == "fashion_mnist") {
    fallback = {{0.2860}, {0.3530}};
  } else if (name == "mnist") {
    fallback = {{0.1307}, {0.3081}};
  } else if (name == "cifar10") {
    fallback = {{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
  } else if (name == "cifar100") {
    fallback = {{0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}};
  } else if (name == "synthetic") {
    fallback = {{0.5}, {0.2887}};  // uniform bytes
  } else {
    fallback = {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};  // ImageNet
  }
  if (norm.mean.empty()) norm.mean = fallback.mean;
  if (norm.std.empty()) norm.std = fallback.std;
  return norm;
}

}  // namespace sombrero::datasets
