// JPEG decoding through libjpeg-turbo's libjpeg API, and encoding (for generated benchmark
// sets) through its TurboJPEG API; the only file that uses either.
//
// Scale. The decoder reads the header, asks `request` (dataset.h) what the caller needs, and
// decodes with the smallest DCT scaling factor n/8 (n = 1..8) whose output still covers the
// requested fraction of the full size in both directions; for ImageNet crops this is often
// 1/2 or 1/4 and several times faster than a full decode. The decoded picture is then
// ceil(width * n / 8) x ceil(height * n / 8).
//
// Region. When the request names a region (full-size pixel coordinates), only the part of
// the picture around it is decoded: the region is mapped to the decoded resolution (the
// same factor decoded size / full size that transforms use), rounded outwards and grown by
// one pixel, and that window is what the Image holds (Image::window_top/left say where it
// sits in the decoded picture, Image::decoded_height/width how large the picture is).
// libjpeg decodes whole iMCUs (8 x scale pixels times the largest sampling factor: 16
// columns for 4:2:0 at full scale), so jpeg_crop_scanline widens the columns leftwards to an
// iMCU boundary; rows above are passed over with jpeg_skip_scanlines (their entropy-coded
// data is still read, but not transformed or colour-converted) and decoding stops after the
// window's last row. libjpeg's "fancy" chroma upsampling treats the edges of a cropped row
// as image edges, so the outermost column of a cropped decode may differ from a full
// decode: one more column is decoded on each side than the window keeps (rows need none:
// jpeg_skip_scanlines keeps the upsampler's context), and the window's pixels are
// bit-identical to the same pixels of a full decode (tested for 4:2:0, 4:2:2, 4:4:0, 4:4:4,
// 4:1:1, grayscale, CMYK and progressive files, at every scale).
//
// Colour. The output is RGB: grayscale JPEGs are expanded by libjpeg; CMYK/YCCK JPEGs are
// decoded to CMYK and converted as Pillow does for Adobe (inverted) CMYK files:
// R = C K / 255, G = M K / 255, B = Y K / 255.
//
// Errors become UnreadableImage(path, reason); libjpeg's errors longjmp back to the decoder
// (never exit()). libjpeg warnings are tolerated (many real JPEGs carry "extraneous bytes"
// and the like), except those that mean missing data (premature end of the file or of a
// data segment): a truncated file is an error, as in Pillow. Since a region decode stops
// early, the data after the first scan must also hold the end-of-image marker (FF D9, which
// entropy-coded data cannot contain), so that a truncated file is refused whatever the
// region.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace sombrero::datasets {

Image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& path,
                  const DecodeRequest& request);

// Encodes an RGB image (4:2:0 chroma subsampling, like camera JPEGs) at `quality` (1..100).
std::vector<std::uint8_t> encode_jpeg(const Image& rgb, int quality);

}  // namespace sombrero::datasets
