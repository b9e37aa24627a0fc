// Bilinear resampling of a rectangle of an image to a new size (resize and crop in one pass).
//
// Coordinates are continuous with pixel centres at i + 0.5, so output pixel (y, x) of an
// out_h x out_w result samples the source at
//   sx = rect.x + (x + 0.5) * rect.width / out_w,   sy likewise,
// which is exactly "resize, then crop" (Pillow's and torchvision's convention).
//
// The filter is the triangle (bilinear) kernel, applied separably: rows first into a float
// buffer, then columns, rounded once to uint8. With `antialias` and a shrinking factor s > 1
// along an axis the triangle is widened to a support of s source pixels (weights
// renormalised), which is what Pillow's Image.resize(BILINEAR) and torchvision's
// antialias=True do; enlarging, or antialias off, is the plain two-tap bilinear. Taps that
// would fall outside the image are dropped and the rest renormalised (the same as clamping
// to the edge for two taps). Differences from Pillow: one rounding instead of one per pass,
// so values may differ by 1.
#pragma once

#include <cstdint>

#include "datasets/image.h"

namespace sombrero::datasets {

struct Rect {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

// Writes out_h x out_w x source.shape.channels bytes (HWC) to `out`. `rect` is in the
// coordinates of the whole decoded picture; `source` may hold only a window of it (image.h),
// which must contain every pixel the filter reads (checked).
void resample_bilinear(const Image& source, const Rect& rect, int out_h, int out_w, bool antialias,
                       std::uint8_t* out);

}  // namespace sombrero::datasets
