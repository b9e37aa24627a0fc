// Writers of tiny test images: JPEG through TurboJPEG's compressor, PNG through libpng's
// simplified writer (the real encoders, so the decoders meet real files).
#pragma once

#include <png.h>
#include <turbojpeg.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/datasets/temp_dir.h"

namespace sombrero::datasets::testing {

// `pixels` in `format` (TJPF_RGB, TJPF_GRAY or TJPF_CMYK), quality 90.
inline std::vector<unsigned char> encode_jpeg(const std::vector<std::uint8_t>& pixels, int width,
                                              int height, int format) {
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int sampling = format == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_444;
  const int status =
      tjCompress2(handle, pixels.data(), width, 0, height, format, &buffer, &size, sampling, 90, 0);
  std::vector<unsigned char> bytes;
  if (status == 0) bytes.assign(buffer, buffer + size);
  tjFree(buffer);
  tjDestroy(handle);
  return bytes;
}

inline void write_jpeg(const std::string& path, const std::vector<std::uint8_t>& pixels, int width,
                       int height, int format) {
  write_bytes(path, encode_jpeg(pixels, width, height, format));
}

// 8-bit RGB.
inline bool write_png(const std::string& path, const std::vector<std::uint8_t>& rgb, int width,
                      int height) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(width);
  png.height = static_cast<png_uint_32>(height);
  png.format = PNG_FORMAT_RGB;
  return png_image_write_to_file(&png, path.c_str(), 0, rgb.data(), 0, nullptr) != 0;
}

// A smooth colour image: red rises left to right, green top to bottom, blue constant.
inline std::vector<std::uint8_t> gradient_rgb(int width, int height) {
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      std::uint8_t* p = &rgb[(static_cast<std::size_t>(y) * width + x) * 3];
      p[0] = static_cast<std::uint8_t>(255 * x / (width - 1));
      p[1] = static_cast<std::uint8_t>(255 * y / (height - 1));
      p[2] = 100;
    }
  }
  return rgb;
}

}  // namespace sombrero::datasets::testing
