// Transforms: the geometry that turns a decoded sample into a fixed-size training or
// evaluation image, and the random choices behind it.
//
//   native              the image as stored (fixed-size datasets)
//   pad_crop            small datasets: zero-pad by `padding`, random `size` x `size` crop
//                       (size 0: the native size), as torchvision RandomCrop(size, padding)
//   random_resized_crop ImageNet training, as torchvision RandomResizedCrop: area fraction
//                       in [scale_min, scale_max], aspect ratio log-uniform in [ratio_min,
//                       ratio_max], 10 tries, then the central crop clamped to the ratio range;
//                       resized to size x size
//   resize_center_crop  evaluation: shorter side resized to `resize` (0: no resize), then the
//                       central size x size crop, as torchvision Resize + CenterCrop
// each optionally followed by a horizontal flip with probability 1/2 (`hflip`).
//
// Random choices come from SampleKey (seed, epoch, index) through Philox (sample_random.h),
// so a sample's augmentation is the same whichever worker thread makes it. Crops are placed
// in the stored image's full-size coordinates; a JPEG may then be decoded at a reduced DCT
// scale (CropPlan::needed_scale), and only in a window around the pixels the resampling reads
// (DecodeNeeds::region, dataset.h), without changing the output: only its source.
#pragma once

#include <cstdint>

#include "datasets/dataset.h"
#include "datasets/resample.h"
#include "datasets/sample_random.h"

namespace sombrero::datasets {

enum class Geometry { native, pad_crop, random_resized_crop, resize_center_crop };

struct TransformSpec {
  Geometry geometry = Geometry::native;
  int size = 0;     // output side; pad_crop: 0 keeps the native size
  int padding = 0;  // pad_crop
  int resize = 0;   // resize_center_crop: shorter side before cropping; 0 crops directly
  double scale_min = 0.08;
  double scale_max = 1.0;
  double ratio_min = 3.0 / 4.0;
  double ratio_max = 4.0 / 3.0;
  bool hflip = false;
  bool antialias = true;  // see resample.h
};

// Where one sample's output comes from, in the stored image's full-size pixel coordinates.
struct CropPlan {
  Rect rect;
  int out_height = 0;
  int out_width = 0;
  bool flip = false;
  // false: rect has the output's size and integer offsets; pixels are copied (zero outside
  // the image). true: rect is resampled bilinearly to the output size.
  bool resample = false;
  // The smallest fraction of the full resolution that still has at least one source pixel
  // per output pixel over rect (1 for copies).
  double needed_scale = 1.0;
};

CropPlan plan_crop(const TransformSpec& spec, int source_height, int source_width,
                   const SampleKey& key);

class Transform {
 public:
  // Checks that `spec` fits the dataset (native and pad_crop need fixed-size images, the
  // resizing geometries an output size) and fixes the output shape.
  Transform(const TransformSpec& spec, const Dataset& dataset);

  const TransformSpec& spec() const { return spec_; }
  ImageShape output_shape() const { return output_; }

  // Decodes sample `index` and writes its transformed image (output_shape().pixels() bytes,
  // HWC) to `out`. Throws UnreadableImage for a bad file, as Dataset::decode.
  void load(const Dataset& dataset, std::size_t index, const SampleKey& key,
            std::uint8_t* out) const;

 private:
  TransformSpec spec_;
  ImageShape output_;
};

}  // namespace sombrero::datasets
