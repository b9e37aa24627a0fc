// The run config's `data:` section turned into the objects of the input pipeline.
//
//   const auto train_set = make_dataset(config, Split::train);
//   Loader loader(train_set, make_transform(config, Split::train, *train_set),
//                 make_loader_options(config, Split::train, rank, world_size));
//   const Normalization norm = make_normalization(config);   // for normalize_to_f32
//
// Transforms chosen (docs/datasets.md has the table):
//   train, augment.random_resized_crop   RandomResizedCrop(image_size, scale, ratio) + flip
//   train, fixed-size images             pad_crop(crop_padding, image_size or native) + flip
//   train, images of varying size        resize + center crop to image_size + flip
//   eval,  fixed-size images             native, or resize/center crop if eval_* are set
//   eval,  images of varying size        resize shorter side to eval_resize (0: crop*256/224),
//                                        center crop eval_crop (0: image_size)
#pragma once

#include <memory>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "datasets/transform.h"
#include "runtime/config/config.h"

namespace sombrero::datasets {

std::shared_ptr<const Dataset> make_dataset(const runtime::Config& config, Split split);

TransformSpec make_transform_spec(const runtime::Config& config, Split split,
                                  const Dataset& dataset);
Transform make_transform(const runtime::Config& config, Split split, const Dataset& dataset);

// Per-rank batch size (data.batch_size / world_size for train, eval_batch_size for test),
// workers, prefetch, seed (train.seed), sharding; eval reads in order without dropping.
LoaderOptions make_loader_options(const runtime::Config& config, Split split, int rank,
                                  int world_size);

struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;
};

// data.mean / data.std, or the dataset's customary values when they are [].
Normalization make_normalization(const runtime::Config& config);

}  // namespace sombrero::datasets
