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

struct Image {
  ImageShape shape;
  std::vector<std::uint8_t> pixels;  // shape.pixels() bytes, HWC
  // The stored image's full size. A JPEG decoded with DCT scaling is smaller than this;
  // transforms place their crops in these coordinates so that they do not depend on it.
  int source_height = 0;
  int source_width = 0;
};

}  // namespace sombrero::datasets
