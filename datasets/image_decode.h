// Reading an image file of any supported format: JPEG or PNG, told apart by their first
// bytes, not by the file name (some ImageNet ".JPEG" files are PNGs).
#pragma once

#include <string>

#include "datasets/dataset.h"

namespace sombrero::datasets {

// Reads and decodes `path` to RGB. Throws UnreadableImage for a file that cannot be read,
// is neither JPEG nor PNG, or is corrupt.
Image decode_image_file(const std::string& path, const DecodeRequest& request = {});

}  // namespace sombrero::datasets
