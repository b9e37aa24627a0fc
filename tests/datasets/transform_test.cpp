// Resampling, crop plans (pad crop, RandomResizedCrop, resize + center crop) and CPU
// normalisation, against values worked out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "datasets/in_memory_dataset.h"
#include "datasets/normalize.h"
#include "datasets/resample.h"
#include "datasets/transform.h"
#include "tests/runtime/error_of.h"

namespace sombrero::datasets {
namespace {

Image make_image(int h, int w, int c, const std::vector<std::uint8_t>& pixels) {
  Image image;
  image.shape = ImageShape{h, w, c};
  image.pixels = pixels;
  image.source_height = h;
  image.source_width = w;
  return image;
}

TEST(Resample, SameSizeIsACopy) {
  std::vector<std::uint8_t> pixels(4 * 5 * 3);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 7);
  const Image image = make_image(4, 5, 3, pixels);
  for (const bool antialias : {false, true}) {
    std::vector<std::uint8_t> out(pixels.size());
    resample_bilinear(image, Rect{0, 0, 5, 4}, 4, 5, antialias, out.data());
    EXPECT_EQ(out, pixels);
  }
}

TEST(Resample, EnlargingIsHalfPixelBilinear) {
  // Row [0, 100] to 4 pixels: sample points 0.25, 0.75, 1.25, 1.75 (centres 0.5, 1.5).
  const Image image = make_image(1, 2, 1, {0, 100});
  std::vector<std::uint8_t> out(4);
  resample_bilinear(image, Rect{0, 0, 2, 1}, 1, 4, true, out.data());
  EXPECT_EQ(out, (std::vector<std::uint8_t>{0, 25, 75, 100}));
}

TEST(Resample, AntialiasingAveragesWhatPlainBilinearAliases) {
  // Columns alternating 0/255, shrunk by 3: plain bilinear hits single columns.
  std::vector<std::uint8_t> pixels(24);
  for (int x = 0; x < 24; ++x) pixels[x] = x % 2 ? 255 : 0;
  const Image image = make_image(1, 24, 1, pixels);
  std::vector<std::uint8_t> plain(8);
  std::vector<std::uint8_t> smooth(8);
  resample_bilinear(image, Rect{0, 0, 24, 1}, 1, 8, false, plain.data());
  resample_bilinear(image, Rect{0, 0, 24, 1}, 1, 8, true, smooth.data());
  for (int x = 0; x < 8; ++x) {
    EXPECT_TRUE(plain[x] == 0 || plain[x] == 255) << int(plain[x]);
    if (x > 0 && x < 7) {  // inside, the full triangle covers 5 columns
      EXPECT_GT(smooth[x], 90) << x;
      EXPECT_LT(smooth[x], 165) << x;
    }
  }
}

// The separable filter of resample.h written out per output pixel in double: the triangle of
// half-width max(1, shrink) (antialias) or 1 around each sample point, taps outside the
// image dropped and the rest renormalised, the nearest edge pixel when none is left.
std::vector<double> naive_weights(int in_size, double start, double length, int out_size, int i,
                                  bool antialias, int& first) {
  const double scale = length / out_size, support = antialias ? std::max(scale, 1.0) : 1.0;
  const double center = start + (i + 0.5) * scale;
  std::vector<double> w;
  double total = 0;
  first = -1;
  for (int x = 0; x < in_size; ++x) {
    const double t = std::abs((x + 0.5 - center) / support);
    if (t >= 1.0) continue;
    if (first < 0) first = x;
    w.resize(std::size_t(x - first + 1), 0.0);
    w.back() = 1.0 - t;
    total += 1.0 - t;
  }
  if (total <= 0) {
    first = std::clamp(static_cast<int>(std::floor(center)), 0, in_size - 1);
    return {1.0};
  }
  for (double& v : w) v /= total;
  return w;
}

// Random images (1, 3 and 4 channels), rectangles partly outside the image, shrinking and
// enlarging, with and without antialiasing: within one level of the double-precision filter
// (the kernel sums in f32 and rounds once).
TEST(Resample, MatchesTheSeparableFilterWrittenOutInDouble) {
  std::uint64_t state = 12345;
  auto next = [&] { return state = state * 6364136223846793005ull + 1442695040888963407ull; };
  auto uniform = [&] { return double(next() >> 11) / double(1ull << 53); };
  for (int trial = 0; trial < 60; ++trial) {
    const int c = trial % 3 == 0 ? 1 : trial % 3 == 1 ? 3 : 4;
    const int h = 1 + int(next() % 40), w = 1 + int(next() % 40);
    std::vector<std::uint8_t> pixels(std::size_t(h) * w * c);
    for (auto& p : pixels) p = static_cast<std::uint8_t>(next() >> 56);
    const Image image = make_image(h, w, c, pixels);
    const Rect rect{uniform() * w - 2, uniform() * h - 2, 0.5 + uniform() * w, 0.5 + uniform() * h};
    const int oh = 1 + int(next() % 30), ow = 1 + int(next() % 30);
    const bool antialias = trial % 2 == 0;
    std::vector<std::uint8_t> out(std::size_t(oh) * ow * c);
    resample_bilinear(image, rect, oh, ow, antialias, out.data());
    for (int y = 0; y < oh; ++y) {
      int fy = 0;
      const std::vector<double> wy = naive_weights(h, rect.y, rect.height, oh, y, antialias, fy);
      for (int x = 0; x < ow; ++x) {
        int fx = 0;
        const std::vector<double> wx = naive_weights(w, rect.x, rect.width, ow, x, antialias, fx);
        for (int ch = 0; ch < c; ++ch) {
          double sum = 0;
          for (std::size_t j = 0; j < wy.size(); ++j)
            for (std::size_t i = 0; i < wx.size(); ++i)
              sum += wy[j] * wx[i] * pixels[((fy + j) * w + fx + i) * c + ch];
          const double want = std::clamp(std::floor(sum + 0.5), 0.0, 255.0);
          ASSERT_NEAR(out[(std::size_t(y) * ow + x) * c + ch], want, 1.0)
              << "trial " << trial << " y " << y << " x " << x << " channel " << ch;
        }
      }
    }
  }
}

TEST(CropPlan, ResizeCenterCropMatchesTorchvision) {
  // 500 wide x 375 high: Resize(256) -> 341 x 256, CenterCrop(224) at left round(58.5) = 58
  // (half to even, as Python), top 16.
  TransformSpec spec;
  spec.geometry = Geometry::resize_center_crop;
  spec.resize = 256;
  spec.size = 224;
  const CropPlan plan = plan_crop(spec, 375, 500, SampleKey{});
  EXPECT_TRUE(plan.resample);
  EXPECT_DOUBLE_EQ(plan.rect.x, 58.0 * 500 / 341);
  EXPECT_DOUBLE_EQ(plan.rect.y, 16.0 * 375 / 256);
  EXPECT_DOUBLE_EQ(plan.rect.width, 224.0 * 500 / 341);
  EXPECT_DOUBLE_EQ(plan.rect.height, 224.0 * 375 / 256);
  EXPECT_EQ(plan.out_height, 224);
  EXPECT_FALSE(plan.flip);
  EXPECT_DOUBLE_EQ(plan.needed_scale, 256.0 / 375);  // max of 341/500 and 256/375
}

TEST(CropPlan, RandomResizedCropStaysInRange) {
  TransformSpec spec;
  spec.geometry = Geometry::random_resized_crop;
  spec.size = 224;
  spec.hflip = true;
  int flips = 0;
  std::set<double> lefts;
  for (std::uint64_t i = 0; i < 500; ++i) {
    const SampleKey key{3, 1, i};
    const CropPlan plan = plan_crop(spec, 375, 500, key);
    const Rect& r = plan.rect;
    ASSERT_GE(r.x, 0);
    ASSERT_GE(r.y, 0);
    ASSERT_LE(r.x + r.width, 500);
    ASSERT_LE(r.y + r.height, 375);
    const double area = r.width * r.height / (500.0 * 375.0);
    EXPECT_GE(area, 0.08 * 0.97);
    const double ratio = r.width / r.height;
    EXPECT_GE(ratio, 0.75 * 0.97);
    EXPECT_LE(ratio, 4.0 / 3.0 * 1.03);
    EXPECT_EQ(r.x, std::floor(r.x));  // integer pixel crops, as torchvision
    flips += plan.flip;
    lefts.insert(r.x);
    const CropPlan again = plan_crop(spec, 375, 500, key);
    EXPECT_EQ(again.rect.x, r.x);
    EXPECT_EQ(again.rect.width, r.width);
    EXPECT_EQ(again.flip, plan.flip);
  }
  EXPECT_GT(flips, 200);
  EXPECT_LT(flips, 300);
  EXPECT_GT(lefts.size(), 100u);
}

TEST(CropPlan, RandomResizedCropFallsBackToTheCentre) {
  // 1000 x 10: no crop of area >= 8% fits the height at a ratio <= 4/3, so after 10 tries
  // the whole height is taken at ratio 4/3 (width round(13.33) = 13), centred.
  TransformSpec spec;
  spec.geometry = Geometry::random_resized_crop;
  spec.size = 8;
  const CropPlan plan = plan_crop(spec, 10, 1000, SampleKey{0, 0, 5});
  EXPECT_EQ(plan.rect.width, 13);
  EXPECT_EQ(plan.rect.height, 10);
  EXPECT_EQ(plan.rect.x, (1000 - 13) / 2);
  EXPECT_EQ(plan.rect.y, 0);
}

TEST(Transform, PadCropShiftsTheImageAndPadsWithZeros) {
  std::vector<std::uint8_t> pixels(6 * 6);
  for (int i = 0; i < 36; ++i) pixels[i] = static_cast<std::uint8_t>(i + 1);
  const InMemoryDataset data(ImageShape{6, 6, 1}, 1, pixels, {0}, "six");
  TransformSpec spec;
  spec.geometry = Geometry::pad_crop;
  spec.padding = 2;
  spec.hflip = true;
  const Transform transform(spec, data);
  EXPECT_EQ(transform.output_shape(), (ImageShape{6, 6, 1}));
  std::set<std::pair<int, int>> offsets;
  for (std::uint64_t epoch = 0; epoch < 200; ++epoch) {
    const SampleKey key{1, static_cast<std::int64_t>(epoch), 0};
    const CropPlan plan = plan_crop(spec, 6, 6, key);
    std::vector<std::uint8_t> out(36);
    transform.load(data, 0, key, out.data());
    const int left = static_cast<int>(plan.rect.x);
    const int top = static_cast<int>(plan.rect.y);
    ASSERT_GE(left, -2);
    ASSERT_LE(left, 2);
    offsets.insert({top, left});
    for (int y = 0; y < 6; ++y) {
      for (int x = 0; x < 6; ++x) {
        const int sx = (plan.flip ? 5 - x : x) + left;
        const int sy = y + top;
        const bool inside = sx >= 0 && sx < 6 && sy >= 0 && sy < 6;
        ASSERT_EQ(out[y * 6 + x], inside ? pixels[sy * 6 + sx] : 0)
            << epoch << ":" << y << "," << x;
      }
    }
  }
  EXPECT_EQ(offsets.size(), 25u);  // every offset in [-2, 2]^2 occurs
}

TEST(Transform, NativeNeedsFixedSizeAndResizingNeedsASize) {
  const InMemoryDataset data(ImageShape{2, 2, 1}, 1, {1, 2, 3, 4}, {0}, "tiny");
  TransformSpec spec;
  spec.geometry = Geometry::random_resized_crop;
  EXPECT_NE(test_support::error_of([&] { Transform(spec, data); }).find("needs an output size"),
            std::string::npos);
  const Transform native(TransformSpec{}, data);
  std::vector<std::uint8_t> out(4);
  native.load(data, 0, SampleKey{}, out.data());
  EXPECT_EQ(out, (std::vector<std::uint8_t>{1, 2, 3, 4}));
}

TEST(Normalize, MapsBytesThroughMeanAndStd) {
  const std::vector<std::uint8_t> in{0, 255, 51, 102};
  std::vector<float> out(4);
  normalize_to_f32(in.data(), 4, 2, {0.5, 0.0}, {0.5, 0.2}, out.data());
  EXPECT_NEAR(out[0], -1.0f, 1e-6f);
  EXPECT_NEAR(out[1], 5.0f, 1e-5f);
  EXPECT_NEAR(out[2], (51 / 255.0 - 0.5) / 0.5, 1e-6f);
  EXPECT_NEAR(out[3], (102 / 255.0) / 0.2, 1e-5f);
  EXPECT_NE(test_support::error_of([&] {
              normalize_to_f32(in.data(), 4, 2, {0.5, 0.5, 0.5}, {1.0}, out.data());
            }).find("3 mean values for 2 channels"),
            std::string::npos);
}

}  // namespace
}  // namespace sombrero::datasets
