#include "datasets/jpeg_codec.h"

#include <cstdio>  // before jpeglib.h, which uses FILE and size_t without declaring them

#include <jerror.h>
#include <jpeglib.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstring>

namespace sombrero::datasets {

namespace {

// libjpeg's error manager, with where to jump back to when libjpeg fails and the message.
struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg's pointer to it is a pointer to the whole
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jump_back(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (msg_level -1) are tolerated, except those that say the data ran out: a
// truncated file. Trace messages (msg_level >= 0) are ignored; nothing is printed.
void on_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level >= 0) return;
  ++cinfo->err->num_warnings;
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) jump_back(cinfo);
}

void print_nothing(j_common_ptr /*cinfo*/) {}

// One libjpeg decompressor per thread, reused image after image, destroyed when the thread
// ends.
class Decompressor {
 public:
  Decompressor() {
    cinfo_.err = jpeg_std_error(&errors_.pub);
    errors_.pub.error_exit = jump_back;
    errors_.pub.emit_message = on_message;
    errors_.pub.output_message = print_nothing;
    if (setjmp(errors_.jump) == 0) {
      jpeg_create_decompress(&cinfo_);
      created_ = true;
    }
  }
  ~Decompressor() {
    if (created_) jpeg_destroy_decompress(&cinfo_);
  }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  bool created() const { return created_; }
  jpeg_decompress_struct& cinfo() { return cinfo_; }
  ErrorManager& errors() { return errors_; }

 private:
  jpeg_decompress_struct cinfo_{};
  ErrorManager errors_{};
  bool created_ = false;
};

Decompressor& thread_decompressor() {
  thread_local Decompressor decompressor;
  SOMBRERO_CHECK(decompressor.created(), "libjpeg: cannot create a decompressor");
  return decompressor;
}

// Returns the decompressor to its idle state (for the thread's next image) however the
// decode ends; libjpeg frees the image's memory.
class AbortOnExit {
 public:
  explicit AbortOnExit(jpeg_decompress_struct& cinfo) : cinfo_(cinfo) {}
  ~AbortOnExit() { jpeg_abort_decompress(&cinfo_); }
  AbortOnExit(const AbortOnExit&) = delete;
  AbortOnExit& operator=(const AbortOnExit&) = delete;

 private:
  jpeg_decompress_struct& cinfo_;
};

// Runs `steps` (libjpeg calls) so that a libjpeg error returns false, with the message in
// the error manager, instead of calling exit(). A longjmp skips the frames of `steps`: they
// must own nothing with a destructor.
template <typename Steps>
bool guarded(ErrorManager& errors, const Steps& steps) {
  if (setjmp(errors.jump) != 0) return false;
  steps();
  return true;
}

// The decoded picture's side at a DCT scale of `eighths` / 8, as libjpeg computes it.
int scaled_side(int side, int eighths) {
  return (side * eighths + 7) / 8;
}

// The smallest DCT scale n / 8 whose picture covers `needed` of both sides.
int pick_scale_eighths(int width, int height, double needed) {
  if (needed >= 1.0) return 8;
  const double want_w = std::ceil(needed * width - 1e-9);
  const double want_h = std::ceil(needed * height - 1e-9);
  for (int n = 1; n < 8; ++n) {
    if (scaled_side(width, n) >= want_w && scaled_side(height, n) >= want_h) return n;
  }
  return 8;
}

// The window of a decoded picture of decoded_width x decoded_height that covers `region`
// of the width x height stored image: mapped by decoded size / full size, rounded outwards,
// grown by one pixel, clamped to the picture. An empty region: the whole picture.
PixelBox window_for(const PixelBox& region, int width, int height, int decoded_width,
                    int decoded_height) {
  const PixelBox whole{0, 0, decoded_width, decoded_height};
  if (region.empty()) return whole;
  const auto down = [](int x, int full, int decoded) {
    return static_cast<int>(static_cast<std::int64_t>(x) * decoded / full) - 1;
  };
  const auto up = [](int x, int full, int decoded) {
    return static_cast<int>((static_cast<std::int64_t>(x) * decoded + full - 1) / full) + 1;
  };
  const PixelBox window{std::clamp(down(region.left, width, decoded_width), 0, decoded_width),
                        std::clamp(down(region.top, height, decoded_height), 0, decoded_height),
                        std::clamp(up(region.right, width, decoded_width), 0, decoded_width),
                        std::clamp(up(region.bottom, height, decoded_height), 0, decoded_height)};
  return window.empty() ? whole : window;
}

// True when data[0, size) holds an end-of-image marker. Entropy-coded data never holds
// FF D9 (a coded FF is followed by 00, or by D0-D7 for a restart marker), so after the first
// scan's header the marker's presence means the file was not cut short. It is normally the
// last two bytes; the search goes backwards to allow for trailing bytes.
bool has_end_marker(const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = size; i >= 2; --i) {
    if (data[i - 2] == 0xFF && data[i - 1] == 0xD9) return true;
  }
  return false;
}

// libjpeg decodes, for the window, one more column on each side than it keeps: a cropped
// decode's fancy chroma upsampling treats the crop's edges as the image's, so its outermost
// columns may differ from a full decode's. Rows need no margin: jpeg_skip_scanlines keeps
// the upsampler's context rows, and rows below the last one read are never treated as an
// edge (libjpeg reads ahead for them).
constexpr int kCropEdge = 1;

// Decodes rows window.top .. window.bottom - 1, columns window.left .. window.right - 1 of
// the picture (the output dimensions and colour space already set in `cinfo`) into `out`
// (window height x width x `channels`), through `row`, a buffer of one full decoded row.
// Only libjpeg calls and plain memory: run under guarded().
void read_window(jpeg_decompress_struct& cinfo, const PixelBox& window, int channels,
                 std::uint8_t* row, std::uint8_t* out) {
  jpeg_start_decompress(&cinfo);
  int crop_left = 0;
  const auto decoded_width = static_cast<int>(cinfo.output_width);
  if (window.left > 0 || window.right < decoded_width) {
    auto left = static_cast<JDIMENSION>(std::max(0, window.left - kCropEdge));
    auto width = static_cast<JDIMENSION>(std::min(decoded_width, window.right + kCropEdge)) - left;
    jpeg_crop_scanline(&cinfo, &left, &width);  // moves `left` down to an iMCU boundary
    crop_left = static_cast<int>(left);
  }
  if (window.top > 0) jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(window.top));
  const std::size_t skip = static_cast<std::size_t>(window.left - crop_left) * channels;
  const std::size_t line = static_cast<std::size_t>(window.right - window.left) * channels;
  JSAMPROW rows[1] = {row};
  for (int y = window.top; y < window.bottom; ++y) {
    jpeg_read_scanlines(&cinfo, rows, 1);
    std::memcpy(out + (y - window.top) * line, row + skip, line);
  }
}

// Adobe (inverted) CMYK to RGB, as Pillow: R = C K / 255, G = M K / 255, B = Y K / 255.
std::vector<std::uint8_t> cmyk_to_rgb(const std::vector<std::uint8_t>& cmyk) {
  const std::size_t count = cmyk.size() / 4;
  std::vector<std::uint8_t> rgb(count * 3);
  for (std::size_t p = 0; p < count; ++p) {
    const unsigned k = cmyk[4 * p + 3];
    for (int c = 0; c < 3; ++c) {
      rgb[3 * p + c] = static_cast<std::uint8_t>((cmyk[4 * p + c] * k + 127) / 255);
    }
  }
  return rgb;
}

}  // namespace

Image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& path,
                  const DecodeRequest& request) {
  Decompressor& decompressor = thread_decompressor();
  jpeg_decompress_struct& cinfo = decompressor.cinfo();
  ErrorManager& errors = decompressor.errors();
  const AbortOnExit abort_on_exit(cinfo);
  const bool header_read = guarded(errors, [&] {
    jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
    jpeg_read_header(&cinfo, TRUE);
  });
  if (!header_read) throw UnreadableImage(path, str("bad JPEG header (", errors.message, ")"));
  const auto width = static_cast<int>(cinfo.image_width);
  const auto height = static_cast<int>(cinfo.image_height);
  if (width <= 0 || height <= 0) throw UnreadableImage(path, "JPEG of size zero");
  const auto scan_start = static_cast<std::size_t>(cinfo.src->next_input_byte - data);
  if (!has_end_marker(data + scan_start, size - scan_start)) {
    throw UnreadableImage(path, "truncated JPEG (no end-of-image marker)");
  }

  const DecodeNeeds needs = request ? request(height, width) : DecodeNeeds{};
  const int eighths = pick_scale_eighths(width, height, needs.scale);
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  const int channels = cmyk ? 4 : 3;
  cinfo.scale_num = static_cast<unsigned>(eighths);
  cinfo.scale_denom = 8;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  if (!guarded(errors, [&] { jpeg_calc_output_dimensions(&cinfo); })) {
    throw UnreadableImage(path, str("unsupported JPEG (", errors.message, ")"));
  }
  const auto decoded_width = static_cast<int>(cinfo.output_width);
  const auto decoded_height = static_cast<int>(cinfo.output_height);
  SOMBRERO_CHECK(decoded_width == scaled_side(width, eighths) &&
                     decoded_height == scaled_side(height, eighths),
                 path, ": libjpeg decodes ", decoded_width, "x", decoded_height, " at scale ",
                 eighths, "/8");
  const PixelBox window = window_for(needs.region, width, height, decoded_width, decoded_height);

  std::vector<std::uint8_t> row(static_cast<std::size_t>(decoded_width) * channels);
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(window.right - window.left) *
                                   (window.bottom - window.top) * channels);
  const bool decoded =
      guarded(errors, [&] { read_window(cinfo, window, channels, row.data(), pixels.data()); });
  if (!decoded) {
    throw UnreadableImage(path, str("corrupt or truncated JPEG (", errors.message, ")"));
  }

  Image image;
  image.shape = ImageShape{window.bottom - window.top, window.right - window.left, 3};
  image.pixels = cmyk ? cmyk_to_rgb(pixels) : std::move(pixels);
  image.source_height = height;
  image.source_width = width;
  image.window_top = window.top;
  image.window_left = window.left;
  image.decoded_height = decoded_height;
  image.decoded_width = decoded_width;
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
