#include "datasets/png_decode.h"

#include <png.h>
#include <cstdint>

#include "datasets/dataset.h"

namespace sombrero::datasets {

Image decode_png(const std::uint8_t* data, std::size_t size, const std::string& path) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&png, data, size) == 0) {
    const std::string reason = png.message;
    png_image_free(&png);
    throw UnreadableImage(path, "bad PNG (" + reason + ")");
  }
  png.format = PNG_FORMAT_RGB;
  Image image;
  image.shape = ImageShape{static_cast<int>(png.height), static_cast<int>(png.width), 3};
  image.source_height = image.shape.height;
  image.source_width = image.shape.width;
  image.pixels.assign(PNG_IMAGE_SIZE(png), 0);  // black under any alpha
  if (png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr) == 0) {
    const std::string reason = png.message;
    png_image_free(&png);
    throw UnreadableImage(path, "corrupt or truncated PNG (" + reason + ")");
  }
  return image;
}

}  // namespace sombrero::datasets
