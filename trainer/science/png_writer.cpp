#include "trainer/science/png_writer.h"

#include <png.h>
#include <cstdint>

#include "runtime/error.h"

namespace sombrero::trainer {

RgbImage::RgbImage(int w, int h, std::uint8_t grey)
    : width(w), height(h), pixels(std::size_t(w) * h * 3, grey) {}

void RgbImage::set(int x, int y, const std::uint8_t rgb[3]) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  std::uint8_t* p = at(x, y);
  p[0] = rgb[0];
  p[1] = rgb[1];
  p[2] = rgb[2];
}

void write_png(const std::string& path, const RgbImage& image) {
  SOMBRERO_CHECK(image.width > 0 && image.height > 0 &&
                     image.pixels.size() == std::size_t(image.width) * image.height * 3,
                 "write_png: '", path, "': bad image ", image.width, "x", image.height);
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  if (png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr) == 0) {
    const std::string reason = png.message;
    png_image_free(&png);
    SOMBRERO_FAIL("cannot write PNG '", path, "' (", reason, ")");
  }
}

}  // namespace sombrero::trainer
