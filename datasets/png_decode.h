// PNG decoding through libpng's simplified API (the only file that uses libpng). Any PNG
// (gray, palette, 16-bit, with or without alpha) is read as 8-bit RGB; alpha is composited
// onto black. Errors become UnreadableImage(path, reason).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/image.h"

namespace sombrero::datasets {

Image decode_png(const std::uint8_t* data, std::size_t size, const std::string& path);

}  // namespace sombrero::datasets
