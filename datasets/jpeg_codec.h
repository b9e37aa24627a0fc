// JPEG decoding (and encoding, for generated benchmark sets) through libjpeg-turbo's
// TurboJPEG API; the only file that uses it.
//
// The decoder reads the header, asks `scale` (dataset.h) for the fraction of the full size
// the caller needs, and decodes with the smallest TurboJPEG DCT scaling factor (n/8, n = 1..8)
// whose output still covers that fraction in both directions; for ImageNet crops this is
// often 1/2 or 1/4 and several times faster than a full decode. The output is RGB:
// grayscale JPEGs are expanded by libjpeg; CMYK/YCCK JPEGs are decoded to CMYK and converted
// as Pillow does for Adobe (inverted) CMYK files: R = C K / 255, G = M K / 255, B = Y K / 255.
//
// Errors become UnreadableImage(path, reason). libjpeg warnings are tolerated (many real
// JPEGs carry "extraneous bytes" and the like), except a premature end of the data, which
// means a truncated file: that is an error, as in Pillow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace sombrero::datasets {

Image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& path,
                  const ScaleRequest& scale);

// Encodes an RGB image (4:2:0 chroma subsampling, like camera JPEGs) at `quality` (1..100).
std::vector<std::uint8_t> encode_jpeg(const Image& rgb, int quality);

}  // namespace sombrero::datasets
