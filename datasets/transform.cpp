#include "datasets/transform.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace sombrero::datasets {

namespace {

// torchvision RandomResizedCrop.get_params, in full-size pixel coordinates.
Rect random_resized_crop(const TransformSpec& spec, int height, int width, SampleRandom& random) {
  const double area = static_cast<double>(height) * width;
  const double log_ratio_min = std::log(spec.ratio_min);
  const double log_ratio_max = std::log(spec.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * random.uniform(spec.scale_min, spec.scale_max);
    const double aspect = std::exp(random.uniform(log_ratio_min, log_ratio_max));
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target_area * aspect)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const auto top =
          static_cast<double>(random.below(static_cast<std::uint64_t>(height - h + 1)));
      const auto left =
          static_cast<double>(random.below(static_cast<std::uint64_t>(width - w + 1)));
      return Rect{left, top, static_cast<double>(w), static_cast<double>(h)};
    }
  }
  // Fallback: the whole image, cut to the nearest allowed aspect ratio, centred.
  const double in_ratio = static_cast<double>(width) / height;
  int w = width;
  int h = height;
  if (in_ratio < spec.ratio_min) {
    h = static_cast<int>(std::nearbyint(w / spec.ratio_min));
  } else if (in_ratio > spec.ratio_max) {
    w = static_cast<int>(std::nearbyint(h * spec.ratio_max));
  }
  return Rect{static_cast<double>((width - w) / 2), static_cast<double>((height - h) / 2),
              static_cast<double>(w), static_cast<double>(h)};
}

double needed_scale(const Rect& rect, int out_height, int out_width) {
  return std::min(1.0, std::max(out_width / rect.width, out_height / rect.height));
}

// The stored image's pixels that resampling plan.rect may read: the filter reaches at most
// half an output pixel's footprint beyond the rectangle plus one source pixel (resample.cpp),
// so the rectangle grown by one footprint, rounded outwards, covers it once the decoder adds
// its pixel to spare at its own resolution (dataset.h). Clamped to the image.
PixelBox region_read(const CropPlan& plan, int height, int width) {
  const double grow_x = plan.rect.width / plan.out_width;
  const double grow_y = plan.rect.height / plan.out_height;
  const auto clamp = [](double v, int size) {
    return static_cast<int>(std::clamp(v, 0.0, static_cast<double>(size)));
  };
  return PixelBox{clamp(std::floor(plan.rect.x - grow_x), width),
                  clamp(std::floor(plan.rect.y - grow_y), height),
                  clamp(std::ceil(plan.rect.x + plan.rect.width + grow_x), width),
                  clamp(std::ceil(plan.rect.y + plan.rect.height + grow_y), height)};
}

}  // namespace

CropPlan plan_crop(const TransformSpec& spec, int source_height, int source_width,
                   const SampleKey& key) {
  SampleRandom random(key, RandomPurpose::augment);
  CropPlan plan;
  switch (spec.geometry) {
    case Geometry::native:
      plan.rect = Rect{0, 0, static_cast<double>(source_width), static_cast<double>(source_height)};
      plan.out_height = source_height;
      plan.out_width = source_width;
      break;
    case Geometry::pad_crop: {
      const int out_h = spec.size > 0 ? spec.size : source_height;
      const int out_w = spec.size > 0 ? spec.size : source_width;
      const int span_y = source_height + 2 * spec.padding - out_h;
      const int span_x = source_width + 2 * spec.padding - out_w;
      SOMBRERO_CHECK(span_y >= 0 && span_x >= 0, "crop of ", out_h, "x", out_w,
                     " is larger than the padded ", source_height, "x", source_width, " image");
      const auto top = static_cast<int>(random.below(static_cast<std::uint64_t>(span_y) + 1));
      const auto left = static_cast<int>(random.below(static_cast<std::uint64_t>(span_x) + 1));
      plan.rect =
          Rect{static_cast<double>(left - spec.padding), static_cast<double>(top - spec.padding),
               static_cast<double>(out_w), static_cast<double>(out_h)};
      plan.out_height = out_h;
      plan.out_width = out_w;
      break;
    }
    case Geometry::random_resized_crop:
      plan.rect = random_resized_crop(spec, source_height, source_width, random);
      plan.out_height = plan.out_width = spec.size;
      plan.resample = true;
      break;
    case Geometry::resize_center_crop: {
      plan.out_height = plan.out_width = spec.size;
      if (spec.resize == 0) {  // crop only (zero padding where the image is smaller)
        plan.rect = Rect{std::nearbyint((source_width - spec.size) / 2.0),
                         std::nearbyint((source_height - spec.size) / 2.0),
                         static_cast<double>(spec.size), static_cast<double>(spec.size)};
        break;
      }
      // torchvision Resize(int): shorter side to `resize`, the longer side truncated.
      const bool tall = source_height > source_width;
      const int short_side = tall ? source_width : source_height;
      const int long_side = tall ? source_height : source_width;
      const int resized_long =
          static_cast<int>(static_cast<double>(spec.resize) * long_side / short_side);
      const int resized_h = tall ? resized_long : spec.resize;
      const int resized_w = tall ? spec.resize : resized_long;
      const double top = std::nearbyint((resized_h - spec.size) / 2.0);
      const double left = std::nearbyint((resized_w - spec.size) / 2.0);
      const double sy = static_cast<double>(source_height) / resized_h;
      const double sx = static_cast<double>(source_width) / resized_w;
      plan.rect = Rect{left * sx, top * sy, spec.size * sx, spec.size * sy};
      plan.resample = true;
      break;
    }
  }
  plan.flip = spec.hflip && random.coin();
  plan.needed_scale = plan.resample ? needed_scale(plan.rect, plan.out_height, plan.out_width) : 1;
  return plan;
}

Transform::Transform(const TransformSpec& spec, const Dataset& dataset) : spec_(spec) {
  const std::optional<ImageShape> fixed = dataset.fixed_shape();
  output_.channels = dataset.channels();
  switch (spec.geometry) {
    case Geometry::native:
    case Geometry::pad_crop:
      SOMBRERO_CHECK(fixed.has_value(),
                     "this dataset holds images of different sizes: it needs "
                     "a resizing transform (random_resized_crop, or resize and center crop)");
      output_.height =
          spec.size > 0 && spec.geometry == Geometry::pad_crop ? spec.size : fixed->height;
      output_.width =
          spec.size > 0 && spec.geometry == Geometry::pad_crop ? spec.size : fixed->width;
      break;
    case Geometry::random_resized_crop:
    case Geometry::resize_center_crop:
      SOMBRERO_CHECK(spec.size > 0,
                     "a resizing transform needs an output size (data.image_size "
                     "or data.eval_crop)");
      SOMBRERO_CHECK(spec.resize == 0 || spec.resize >= spec.size, "resize to ", spec.resize,
                     " is smaller than the ", spec.size, " center crop");
      SOMBRERO_CHECK(spec.scale_min > 0 && spec.scale_min <= spec.scale_max && spec.ratio_min > 0 &&
                         spec.ratio_min <= spec.ratio_max,
                     "bad RandomResizedCrop ranges");
      output_.height = output_.width = spec.size;
      break;
  }
}

void Transform::load(const Dataset& dataset, std::size_t index, const SampleKey& key,
                     std::uint8_t* out) const {
  CropPlan plan;
  bool planned = false;
  const Image image = dataset.decode(index, [&](int height, int width) {
    plan = plan_crop(spec_, height, width, key);
    planned = true;
    // A copy reads the whole image (and checks that it got it); a resample only its region.
    return DecodeNeeds{plan.needed_scale,
                       plan.resample ? region_read(plan, height, width) : PixelBox{}};
  });
  if (!planned) plan = plan_crop(spec_, image.source_height, image.source_width, key);
  const int channels = image.shape.channels;
  SOMBRERO_CHECK(channels == output_.channels && plan.out_height == output_.height &&
                     plan.out_width == output_.width,
                 dataset.describe(index), ": decoded to ", plan.out_height, "x", plan.out_width,
                 "x", channels, ", expected ", output_.height, "x", output_.width, "x",
                 output_.channels);
  const std::size_t row = static_cast<std::size_t>(plan.out_width) * channels;
  if (plan.resample) {
    // The decoded picture may be a DCT-scaled version of the stored one, and the image only
    // a window of it.
    const double sx = static_cast<double>(image.full_width()) / image.source_width;
    const double sy = static_cast<double>(image.full_height()) / image.source_height;
    const Rect rect{plan.rect.x * sx, plan.rect.y * sy, plan.rect.width * sx,
                    plan.rect.height * sy};
    resample_bilinear(image, rect, plan.out_height, plan.out_width, spec_.antialias, out);
  } else {
    SOMBRERO_CHECK(
        image.shape.height == image.source_height && image.shape.width == image.source_width,
        "copy transform of a scaled decode");
    const int left = static_cast<int>(plan.rect.x);
    const int top = static_cast<int>(plan.rect.y);
    std::memset(out, 0, row * plan.out_height);
    const int x_lo = std::max(0, -left);
    const int x_hi = std::min(plan.out_width, image.shape.width - left);
    for (int y = 0; y < plan.out_height; ++y) {
      const int sy = y + top;
      if (sy < 0 || sy >= image.shape.height || x_hi <= x_lo) continue;
      const std::uint8_t* in =
          image.pixels.data() +
          (static_cast<std::size_t>(sy) * image.shape.width + left + x_lo) * channels;
      std::memcpy(out + y * row + static_cast<std::size_t>(x_lo) * channels, in,
                  static_cast<std::size_t>(x_hi - x_lo) * channels);
    }
  }
  if (plan.flip) {
    for (int y = 0; y < plan.out_height; ++y) {
      std::uint8_t* line = out + y * row;
      for (int a = 0, b = plan.out_width - 1; a < b; ++a, --b) {
        std::swap_ranges(line + a * channels, line + (a + 1) * channels, line + b * channels);
      }
    }
  }
}

}  // namespace sombrero::datasets
