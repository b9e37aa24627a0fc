// Region decoding of JPEGs (datasets/jpeg_codec.h): a window decoded around a region equals
// the same pixels of a full decode, bit for bit, for every chroma subsampling, grayscale,
// CMYK and progressive files, at every DCT scale, for regions anywhere (odd offsets, every
// border, one pixel wide); the full decode equals TurboJPEG's; the training and evaluation
// transforms give the same output from a region decode as from a full one; truncated and
// corrupt files stay errors whatever the region.
#include <gtest/gtest.h>
#include <omp.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "datasets/image_decode.h"
#include "datasets/jpeg_codec.h"
#include "datasets/loader_bench.h"
#include "datasets/transform.h"
#include "tests/datasets/temp_dir.h"

namespace sombrero::datasets {
namespace {

struct JpegKind {
  const char* name;
  int format;  // TJPF_RGB, TJPF_GRAY or TJPF_CMYK
  int subsampling;
  bool progressive;
};

const JpegKind kKinds[] = {
    {"4:2:0", TJPF_RGB, TJSAMP_420, false},
    {"4:2:2", TJPF_RGB, TJSAMP_422, false},
    {"4:4:0", TJPF_RGB, TJSAMP_440, false},
    {"4:4:4", TJPF_RGB, TJSAMP_444, false},
    {"4:1:1", TJPF_RGB, TJSAMP_411, false},
    {"gray", TJPF_GRAY, TJSAMP_GRAY, false},
    {"cmyk 4:2:0", TJPF_CMYK, TJSAMP_420, false},
    {"progressive 4:2:0", TJPF_RGB, TJSAMP_420, true},
    {"progressive gray", TJPF_GRAY, TJSAMP_GRAY, true},
};

// Noise over a gradient, different in every channel, so that any wrong pixel shows.
std::vector<std::uint8_t> noisy_pixels(int width, int height, int channels, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height * channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        const int base = (x * (c + 1) * 255 / width + y * (3 - c % 3) * 255 / height) / 3;
        const int value = base + static_cast<int>(random() % 96) - 48;
        pixels[(static_cast<std::size_t>(y) * width + x) * channels + c] =
            static_cast<std::uint8_t>(std::clamp(value, 0, 255));
      }
    }
  }
  return pixels;
}

std::vector<std::uint8_t> encode(const JpegKind& kind, int width, int height, std::uint32_t seed) {
  const int channels = tjPixelSize[kind.format];
  const std::vector<std::uint8_t> pixels = noisy_pixels(width, height, channels, seed);
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int flags = kind.progressive ? TJFLAG_PROGRESSIVE : 0;
  const int status = tjCompress2(handle, pixels.data(), width, 0, height, kind.format, &buffer,
                                 &size, kind.subsampling, 85, flags);
  std::vector<std::uint8_t> bytes;
  if (status == 0) bytes.assign(buffer, buffer + size);
  tjFree(buffer);
  tjDestroy(handle);
  EXPECT_EQ(status, 0) << kind.name;
  return bytes;
}

Image decode(const std::vector<std::uint8_t>& jpeg, double scale, const PixelBox& region) {
  return decode_jpeg(jpeg.data(), jpeg.size(), "test.jpg", [&](int, int) {
    return DecodeNeeds{scale, region};
  });
}

// Every pixel of `window` against the same pixel of `full` (a whole-picture decode).
void expect_window_of(const Image& window, const Image& full, const std::string& where) {
  ASSERT_EQ(window.decoded_height, full.shape.height) << where;
  ASSERT_EQ(window.decoded_width, full.shape.width) << where;
  ASSERT_LE(window.window_top + window.shape.height, full.shape.height) << where;
  ASSERT_LE(window.window_left + window.shape.width, full.shape.width) << where;
  const std::size_t row = static_cast<std::size_t>(window.shape.width) * 3;
  for (int y = 0; y < window.shape.height; ++y) {
    const std::uint8_t* got = &window.pixels[y * row];
    const std::uint8_t* want =
        &full.pixels[(static_cast<std::size_t>(window.window_top + y) * full.shape.width +
                      window.window_left) *
                     3];
    ASSERT_TRUE(std::equal(got, got + row, want)) << where << ", window row " << y;
  }
}

// Regions of a width x height image: random ones, one pixel wide or high, and ones touching
// each border.
std::vector<PixelBox> regions(int width, int height, std::mt19937& random) {
  std::vector<PixelBox> boxes = {
      {0, 0, width, height},
      {0, 0, 1, 1},
      {width - 1, height - 1, width, height},
      {0, 5, 7, height},
      {width - 9, 0, width, 11},
      {37, 0, 38, height},
      {0, 41, width, 42},
      {17, 3, 18, 4},
      {1, 1, width - 1, height - 1},
  };
  for (int i = 0; i < 16; ++i) {
    const int left = static_cast<int>(random() % width);
    const int top = static_cast<int>(random() % height);
    const int right = left + 1 + static_cast<int>(random() % (width - left));
    const int bottom = top + 1 + static_cast<int>(random() % (height - top));
    boxes.push_back({left, top, right, bottom});
  }
  return boxes;
}

// The window is the region mapped to the decoded picture, rounded outwards and grown by a
// pixel, clamped to the picture.
void expect_window_around(const Image& window, const PixelBox& region, int width, int height,
                          const std::string& where) {
  const auto down = [](int x, int full, int decoded) {
    return std::max(0, static_cast<int>(static_cast<std::int64_t>(x) * decoded / full) - 1);
  };
  const auto up = [](int x, int full, int decoded) {
    const auto mapped = (static_cast<std::int64_t>(x) * decoded + full - 1) / full;
    return std::min(decoded, static_cast<int>(mapped) + 1);
  };
  EXPECT_EQ(window.window_left, down(region.left, width, window.decoded_width)) << where;
  EXPECT_EQ(window.window_top, down(region.top, height, window.decoded_height)) << where;
  EXPECT_EQ(window.window_left + window.shape.width, up(region.right, width, window.decoded_width))
      << where;
  EXPECT_EQ(window.window_top + window.shape.height,
            up(region.bottom, height, window.decoded_height))
      << where;
}

TEST(JpegRegion, WindowEqualsTheFullDecodeForEveryKindScaleAndRegion) {
  constexpr int kWidth = 203;  // not a multiple of any iMCU size
  constexpr int kHeight = 157;
  std::mt19937 random(7);
  for (const JpegKind& kind : kKinds) {
    const std::vector<std::uint8_t> jpeg = encode(kind, kWidth, kHeight, 11);
    for (int eighths = 1; eighths <= 8; ++eighths) {
      const double scale = eighths / 8.0;
      const Image full = decode(jpeg, scale, PixelBox{});
      ASSERT_EQ(full.window_top, 0);
      ASSERT_EQ(full.window_left, 0);
      ASSERT_EQ(full.shape.width, (kWidth * eighths + 7) / 8) << kind.name;
      for (const PixelBox& region : regions(kWidth, kHeight, random)) {
        const std::string where = std::string(kind.name) + " at " + std::to_string(eighths) +
                                  "/8, region x " + std::to_string(region.left) + ".." +
                                  std::to_string(region.right) + " y " +
                                  std::to_string(region.top) + ".." + std::to_string(region.bottom);
        const Image window = decode(jpeg, scale, region);
        expect_window_around(window, region, kWidth, kHeight, where);
        expect_window_of(window, full, where);
      }
    }
  }
}

TEST(JpegRegion, FullDecodeEqualsTurboJpeg) {
  for (const JpegKind& kind : kKinds) {
    if (kind.format == TJPF_CMYK) continue;  // converted after decoding; covered below
    const std::vector<std::uint8_t> jpeg = encode(kind, 203, 157, 3);
    tjhandle handle = tjInitDecompress();
    for (int eighths = 1; eighths <= 8; ++eighths) {
      const Image ours = decode(jpeg, eighths / 8.0, PixelBox{});
      std::vector<std::uint8_t> theirs(ours.pixels.size());
      ASSERT_EQ(tjDecompress2(handle, jpeg.data(), jpeg.size(), theirs.data(), ours.shape.width, 0,
                              ours.shape.height, TJPF_RGB, 0),
                0)
          << kind.name;
      EXPECT_EQ(ours.pixels, theirs) << kind.name << " at " << eighths << "/8";
    }
    tjDestroy(handle);
  }
}

TEST(JpegRegion, CmykConvertsAsAdobeInvertedCmyk) {
  const JpegKind cmyk{"cmyk 4:4:4", TJPF_CMYK, TJSAMP_444, false};
  const std::vector<std::uint8_t> jpeg = encode(cmyk, 40, 24, 5);
  tjhandle handle = tjInitDecompress();
  std::vector<std::uint8_t> raw(40 * 24 * 4);
  ASSERT_EQ(tjDecompress2(handle, jpeg.data(), jpeg.size(), raw.data(), 40, 0, 24, TJPF_CMYK, 0),
            0);
  tjDestroy(handle);
  const Image image = decode(jpeg, 1.0, PixelBox{10, 5, 30, 20});
  for (int y = 0; y < image.shape.height; ++y) {
    for (int x = 0; x < image.shape.width; ++x) {
      const std::uint8_t* in =
          &raw[(static_cast<std::size_t>(y + image.window_top) * 40 + x + image.window_left) * 4];
      for (int c = 0; c < 3; ++c) {
        ASSERT_EQ(image.pixels[(static_cast<std::size_t>(y) * image.shape.width + x) * 3 + c],
                  (in[c] * in[3] + 127) / 255);
      }
    }
  }
}

// A dataset of JPEGs in memory that decodes either as asked (a window around the region) or
// always the whole picture, to compare the transforms' outputs.
class MemoryJpegs : public Dataset {
 public:
  MemoryJpegs(std::vector<std::vector<std::uint8_t>> files, bool whole)
      : files_(std::move(files)), whole_(whole) {}
  std::size_t size() const override { return files_.size(); }
  int num_classes() const override { return 1; }
  int label(std::size_t) const override { return 0; }
  int channels() const override { return 3; }
  std::optional<ImageShape> fixed_shape() const override { return std::nullopt; }
  std::string describe(std::size_t index) const override { return std::to_string(index); }
  Image decode(std::size_t index, const DecodeRequest& request) const override {
    const std::vector<std::uint8_t>& file = files_[index];
    if (!whole_ || !request) return decode_jpeg(file.data(), file.size(), describe(index), request);
    return decode_jpeg(file.data(), file.size(), describe(index), [&](int height, int width) {
      DecodeNeeds needs = request(height, width);
      needs.region = PixelBox{};
      return needs;
    });
  }

 private:
  std::vector<std::vector<std::uint8_t>> files_;
  bool whole_;
};

// bench loader --generate (and gpu_check's JPEG train-step) writes its set on every core:
// the files must not depend on how many threads made them, and land where a folder dataset
// finds them (class_NNN/image_i.JPEG, i mod classes), each a 500x375 or 375x500 JPEG.
TEST(GenerateBenchmarkImages, SameFilesOnOneThreadAndOnMany) {
  const auto generate = [](int threads) {
    const int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    const testing::TempDir dir("generate");
    generate_benchmark_images(dir.path().string(), 7, 3, 5);
    omp_set_num_threads(previous);
    std::map<std::string, std::vector<std::uint8_t>> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      files[std::filesystem::relative(entry.path(), dir.path()).string()] =
          std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
      const Image image = decode_image_file(entry.path().string());
      EXPECT_EQ(image.shape.width * image.shape.height, 500 * 375) << entry.path();
    }
    return files;
  };
  const auto one = generate(1), many = generate(4);
  ASSERT_EQ(one.size(), 7u);
  EXPECT_TRUE(one.count("class_000/image_0.JPEG") && one.count("class_000/image_6.JPEG") &&
              one.count("class_002/image_5.JPEG"));
  EXPECT_TRUE(one == many);
}

TEST(JpegRegion, TransformsGiveTheSameImageAsFromAFullDecode) {
  // ImageNet-like 500x375 4:2:0 files (DCT-scaled decodes, shrinking) and small files of the
  // other kinds (enlarged to 224: full-scale decodes, two-tap bilinear).
  std::vector<std::vector<std::uint8_t>> files;
  {
    const testing::TempDir dir("jpeg_region");
    generate_benchmark_images(dir.path().string(), 3, 1, 17);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      files.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  ASSERT_EQ(files.size(), 3u);
  for (const JpegKind& kind : kKinds) files.push_back(encode(kind, 203, 157, 23));
  const MemoryJpegs windows(files, false);
  const MemoryJpegs wholes(files, true);

  std::vector<TransformSpec> specs(4);
  specs[0].geometry = Geometry::random_resized_crop;
  specs[0].size = 224;
  specs[0].hflip = true;
  specs[1] = specs[0];
  specs[1].size = 64;  // shrinking more: antialiasing wider than two taps
  specs[2].geometry = Geometry::resize_center_crop;
  specs[2].size = 224;
  specs[2].resize = 256;
  specs[3] = specs[2];
  specs[3].antialias = false;
  for (const TransformSpec& spec : specs) {
    const Transform transform(spec, windows);
    const std::size_t bytes = transform.output_shape().pixels();
    std::vector<std::uint8_t> got(bytes);
    std::vector<std::uint8_t> want(bytes);
    const int keys = spec.geometry == Geometry::random_resized_crop ? 60 : 1;
    for (std::size_t i = 0; i < files.size(); ++i) {
      for (int k = 0; k < keys; ++k) {
        const SampleKey key{5, k, i};
        transform.load(windows, i, key, got.data());
        transform.load(wholes, i, key, want.data());
        ASSERT_EQ(got, want) << "file " << i << " key " << k << " size " << spec.size;
      }
    }
  }
}

TEST(JpegRegion, TruncatedFileIsAnErrorWhateverTheRegion) {
  const std::vector<std::uint8_t> jpeg = encode(kKinds[0], 203, 157, 13);
  for (const double keep : {0.3, 0.6, 0.95}) {
    std::vector<std::uint8_t> cut(jpeg.begin(),
                                  jpeg.begin() + static_cast<long>(keep * jpeg.size()));
    for (const PixelBox& region :
         {PixelBox{}, PixelBox{0, 0, 8, 8}, PixelBox{100, 150, 101, 157}}) {
      try {
        decode(cut, 1.0, region);
        ADD_FAILURE() << "a JPEG cut to " << keep << " of its size decoded";
      } catch (const UnreadableImage& bad) {
        EXPECT_EQ(bad.path(), "test.jpg");
        EXPECT_NE(bad.reason().find("truncated"), std::string::npos) << bad.reason();
      }
    }
  }
  // Cut short with an end-of-image marker put back: libjpeg's own warning ("premature end of
  // data segment") makes it an error once the decode reaches the cut.
  std::vector<std::uint8_t> patched(jpeg.begin(),
                                    jpeg.begin() + static_cast<long>(jpeg.size() / 2));
  patched.insert(patched.end(), {0xFF, 0xD9});
  try {
    decode(patched, 1.0, PixelBox{});
    ADD_FAILURE() << "a JPEG missing half its data decoded";
  } catch (const UnreadableImage& bad) {
    EXPECT_NE(bad.reason().find("premature end"), std::string::npos) << bad.reason();
  }
  // Bytes after the end-of-image marker are fine.
  std::vector<std::uint8_t> trailing = jpeg;
  trailing.insert(trailing.end(), {0x00, 0x12, 0xFF, 0x00});
  EXPECT_EQ(decode(trailing, 1.0, PixelBox{5, 5, 50, 60}).pixels,
            decode(jpeg, 1.0, PixelBox{5, 5, 50, 60}).pixels);
}

TEST(JpegRegion, CorruptFileIsAnUnreadableImageNotAnExit) {
  const std::vector<std::uint8_t> jpeg = encode(kKinds[0], 64, 48, 19);
  // A 12-bit precision in the frame header (FF C0, length, precision): libjpeg's error_exit.
  std::vector<std::uint8_t> twelve_bit = jpeg;
  for (std::size_t i = 0; i + 4 < twelve_bit.size(); ++i) {
    if (twelve_bit[i] == 0xFF && twelve_bit[i + 1] == 0xC0) {
      twelve_bit[i + 4] = 12;
      break;
    }
  }
  std::vector<std::uint8_t> garbage = {0xFF, 0xD8, 0xFF, 0x01, 0x02, 0x03};
  for (const auto& bad_file : {twelve_bit, garbage}) {
    try {
      decode(bad_file, 1.0, PixelBox{0, 0, 10, 10});
      ADD_FAILURE() << "a corrupt JPEG decoded";
    } catch (const UnreadableImage& bad) {
      EXPECT_EQ(bad.path(), "test.jpg");
    }
  }
  // The thread's decompressor is still usable afterwards.
  EXPECT_EQ(decode(jpeg, 1.0, PixelBox{}).shape, (ImageShape{48, 64, 3}));
}

}  // namespace
}  // namespace sombrero::datasets
