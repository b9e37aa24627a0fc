#include "datasets/jpeg_codec.h"

#include <turbojpeg.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>

namespace sombrero::datasets {

namespace {

// One decompressor per thread, destroyed when the thread ends.
class Decompressor {
 public:
  Decompressor() : handle_(tjInitDecompress()) {}
  ~Decompressor() {
    if (handle_ != nullptr) tjDestroy(handle_);
  }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  tjhandle get() const { return handle_; }

 private:
  tjhandle handle_;
};

tjhandle thread_decompressor() {
  thread_local Decompressor decompressor;
  SOMBRERO_CHECK(decompressor.get() != nullptr, "TurboJPEG: cannot create a decompressor");
  return decompressor.get();
}

// The smallest scaling factor <= 1 whose output covers `needed` of both sides.
tjscalingfactor pick_scale(int width, int height, double needed) {
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  tjscalingfactor best{1, 1};
  if (factors == nullptr || needed >= 1.0) return best;
  const double want_w = std::ceil(needed * width - 1e-9);
  const double want_h = std::ceil(needed * height - 1e-9);
  for (int i = 0; i < count; ++i) {
    const tjscalingfactor f = factors[i];
    if (f.num > f.denom) continue;
    if (TJSCALED(width, f) < want_w || TJSCALED(height, f) < want_h) continue;
    if (static_cast<long>(f.num) * best.denom < static_cast<long>(best.num) * f.denom) best = f;
  }
  return best;
}

bool is_truncation(const std::string& message) {
  std::string lower = message;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("premature end") != std::string::npos;
}

}  // namespace

Image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& path,
                  const ScaleRequest& scale) {
  tjhandle handle = thread_decompressor();
  int width = 0;
  int height = 0;
  int subsampling = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(handle, data, static_cast<unsigned long>(size), &width, &height,
                          &subsampling, &colorspace) != 0) {
    throw UnreadableImage(path, str("bad JPEG header (", tjGetErrorStr2(handle), ")"));
  }
  if (width <= 0 || height <= 0) throw UnreadableImage(path, "JPEG of size zero");
  const double needed = scale ? scale(height, width) : 1.0;
  const tjscalingfactor factor = pick_scale(width, height, needed);
  const int out_w = TJSCALED(width, factor);
  const int out_h = TJSCALED(height, factor);
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  const int format = cmyk ? TJPF_CMYK : TJPF_RGB;
  const int bytes_per_pixel = cmyk ? 4 : 3;
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(out_w) * out_h * bytes_per_pixel);
  if (tjDecompress2(handle, data, static_cast<unsigned long>(size), pixels.data(), out_w, 0, out_h,
                    format, 0) != 0) {
    const std::string message = tjGetErrorStr2(handle);
    if (tjGetErrorCode(handle) != TJERR_WARNING || is_truncation(message)) {
      throw UnreadableImage(path, str("corrupt or truncated JPEG (", message, ")"));
    }
  }
  Image image;
  image.shape = ImageShape{out_h, out_w, 3};
  image.source_height = height;
  image.source_width = width;
  if (!cmyk) {
    image.pixels = std::move(pixels);
    return image;
  }
  image.pixels.resize(static_cast<std::size_t>(out_w) * out_h * 3);
  for (std::size_t p = 0; p < static_cast<std::size_t>(out_w) * out_h; ++p) {
    const unsigned k = pixels[4 * p + 3];
    for (int c = 0; c < 3; ++c) {
      image.pixels[3 * p + c] = static_cast<std::uint8_t>((pixels[4 * p + c] * k + 127) / 255);
    }
  }
  return image;
}

std::vector<std::uint8_t> encode_jpeg(const Image& rgb, int quality) {
  SOMBRERO_CHECK(rgb.shape.channels == 3 && rgb.pixels.size() == rgb.shape.pixels(),
                 "encode_jpeg: expected an RGB image");
  tjhandle handle = tjInitCompress();
  SOMBRERO_CHECK(handle != nullptr, "TurboJPEG: cannot create a compressor");
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int status = tjCompress2(handle, rgb.pixels.data(), rgb.shape.width, 0, rgb.shape.height,
                                 TJPF_RGB, &buffer, &size, TJSAMP_420, quality, 0);
  const std::string message = status != 0 ? tjGetErrorStr2(handle) : "";
  std::vector<std::uint8_t> bytes;
  if (status == 0) bytes.assign(buffer, buffer + size);
  tjFree(buffer);
  tjDestroy(handle);
  SOMBRERO_CHECK(status == 0, "TurboJPEG: compression failed (", message, ")");
  return bytes;
}

}  // namespace sombrero::datasets
