// Writes 8-bit RGB images as PNG files (libpng's simplified API), for the plots of
// `sombrero analyze`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sombrero::trainer {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // height x width x 3, row-major, top row first

  RgbImage() = default;
  RgbImage(int width, int height, std::uint8_t grey = 255);
  std::uint8_t* at(int x, int y) { return pixels.data() + (std::size_t(y) * width + x) * 3; }
  void set(int x, int y, const std::uint8_t rgb[3]);  // ignores points outside the image
};

// Throws sombrero::Error naming the path when the file cannot be written.
void write_png(const std::string& path, const RgbImage& image);

}  // namespace sombrero::trainer
