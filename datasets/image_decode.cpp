#include "datasets/image_decode.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "datasets/jpeg_codec.h"
#include "datasets/png_decode.h"

namespace sombrero::datasets {

namespace {

std::vector<std::uint8_t> read_file(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) throw UnreadableImage(path, "cannot open");
  std::vector<std::uint8_t> bytes;
  std::uint8_t chunk[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof chunk, file.get())) > 0) {
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  if (std::ferror(file.get())) throw UnreadableImage(path, "read error");
  return bytes;
}

}  // namespace

Image decode_image_file(const std::string& path, const DecodeRequest& request) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    return decode_jpeg(bytes.data(), bytes.size(), path, request);
  }
  static const std::uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() >= 8 && std::equal(png_magic, png_magic + 8, bytes.begin())) {
    return decode_png(bytes.data(), bytes.size(), path);
  }
  throw UnreadableImage(path, bytes.empty() ? "empty file" : "neither a JPEG nor a PNG file");
}

}  // namespace sombrero::datasets
