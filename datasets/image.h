// Image: a decoded sample, 8-bit pixels in HWC order (row-major, channels interleaved).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sombrero::datasets {

struct ImageShape {
  int height = 0;
  int width = 0;
  int channels = 0;

  std::size_t pixels() const { return static_cast<std::size_t>(height) * width * channels; }
  bool operator==(const ImageShape&) const = default;
};

// A half-open box of whole pixels: columns [left, right), rows [top, bottom).
struct PixelBox {
  int left = 0;
  int top = 0;
  int right = 0;
  int bottom = 0;

  bool empty() const { return right <= left || bottom <= top; }
  bool operator==(const PixelBox&) const = default;
};

struct Image {
  ImageShape shape;                  // of the pixels held
  std::vector<std::uint8_t> pixels;  // shape.pixels() bytes, HWC
  // The stored image's full size. A JPEG decoded with DCT scaling is smaller than this;
  // transforms place their crops in these coordinates so that they do not depend on it.
  int source_height = 0;
  int source_width = 0;
  // A decoder asked for a region (DecodeNeeds, dataset.h) may hold only a window of the
  // decoded picture: the picture is decoded_height x decoded_width (0: the window is all of
  // it) and the window's top-left pixel is the picture's (window_top, window_left).
  int window_top = 0;
  int window_left = 0;
  int decoded_height = 0;
  int decoded_width = 0;

  // The whole decoded picture's size, at the resolution it was decoded at.
  int full_height() const { return decoded_height > 0 ? decoded_height : shape.height; }
  int full_width() const { return decoded_width > 0 ? decoded_width : shape.width; }
};

}  // namespace sombrero::datasets
