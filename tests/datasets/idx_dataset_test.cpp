// The idx reader (MNIST / Fashion-MNIST): the real Fashion-MNIST files when installed, and
// tiny files written here, gzipped and plain, well-formed and broken.
#include "datasets/idx_dataset.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "tests/datasets/temp_dir.h"
#include "tests/runtime/error_of.h"

namespace sombrero::datasets {
namespace {

using test_support::error_of;
using testing::TempDir;
using testing::write_bytes;

const char* const fashion_root = "/usr/share/datasets/fashion-mnist";

std::vector<unsigned char> idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                                     const std::vector<unsigned char>& data) {
  std::vector<unsigned char> bytes;
  const auto put = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      bytes.push_back(static_cast<unsigned char>(v >> shift));
  };
  put(magic);
  for (const std::uint32_t d : dims) put(d);
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

void write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(file);
}

// 3 images of 2x4 with pixel value 10 * image + position; labels 7, 0, 9.
struct TinyIdx {
  std::vector<unsigned char> images;
  std::vector<unsigned char> labels;
  TinyIdx() {
    std::vector<unsigned char> pixels;
    for (int i = 0; i < 3; ++i) {
      for (int p = 0; p < 8; ++p) pixels.push_back(static_cast<unsigned char>(10 * i + p));
    }
    images = idx_bytes(0x803, {3, 2, 4}, pixels);
    labels = idx_bytes(0x801, {3}, {7, 0, 9});
  }
};

TEST(IdxDataset, ReadsFashionMnistTrainAndTest) {
  if (!std::filesystem::is_directory(fashion_root)) {
    GTEST_SKIP() << fashion_root << " is absent (Debian package dataset-fashion-mnist)";
  }
  const auto train = load_mnist(fashion_root, Split::train, MnistKind::fashion_mnist);
  const auto test = load_mnist(fashion_root, Split::test, MnistKind::fashion_mnist);
  EXPECT_EQ(train->size(), 60000u);
  EXPECT_EQ(test->size(), 10000u);
  for (const auto* data : {train.get(), test.get()}) {
    EXPECT_EQ(data->num_classes(), 10);
    ASSERT_TRUE(data->fixed_shape().has_value());
    EXPECT_EQ(*data->fixed_shape(), (ImageShape{28, 28, 1}));
    // Fashion-MNIST is balanced: every class holds a tenth of each split.
    std::vector<std::size_t> per_class(10, 0);
    for (std::size_t i = 0; i < data->size(); ++i) {
      const int label = data->label(i);
      ASSERT_GE(label, 0);
      ASSERT_LT(label, 10);
      ++per_class[label];
    }
    for (const std::size_t count : per_class) EXPECT_EQ(count, data->size() / 10);
  }
  // Images use the whole 8-bit range with a dark background.
  const Image first = train->decode(0);
  EXPECT_EQ(first.pixels.size(), 28u * 28u);
  EXPECT_EQ(*std::min_element(first.pixels.begin(), first.pixels.end()), 0);
  std::uint8_t brightest = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    const Image image = train->decode(i);
    brightest = std::max(brightest, *std::max_element(image.pixels.begin(), image.pixels.end()));
  }
  EXPECT_EQ(brightest, 255);
  EXPECT_EQ(train->class_name(9), "Ankle boot");
}

TEST(IdxDataset, ReadsGzippedAndPlainFilesAlike) {
  const TempDir dir("idx");
  const TinyIdx tiny;
  write_bytes(dir.file("train-images-idx3-ubyte"), tiny.images);
  write_gz(dir.file("train-labels-idx1-ubyte.gz"), tiny.labels);
  write_gz(dir.file("t10k-images-idx3-ubyte.gz"), tiny.images);
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), tiny.labels);
  for (const Split split : {Split::train, Split::test}) {
    const auto data = load_mnist(dir.path().string(), split, MnistKind::mnist);
    ASSERT_EQ(data->size(), 3u);
    EXPECT_EQ(*data->fixed_shape(), (ImageShape{2, 4, 1}));
    EXPECT_EQ(data->label(0), 7);
    EXPECT_EQ(data->label(1), 0);
    EXPECT_EQ(data->label(2), 9);
    const Image image = data->decode(2);
    EXPECT_EQ(image.pixels.front(), 20);
    EXPECT_EQ(image.pixels.back(), 27);
  }
}

TEST(IdxDataset, BadFilesGiveErrorsNamingTheFile) {
  const TempDir dir("idx_bad");
  const TinyIdx tiny;
  const std::string images = dir.file("images");
  const std::string labels = dir.file("labels");
  write_bytes(labels, tiny.labels);

  write_bytes(images, idx_bytes(0x801, {3, 2, 4}, std::vector<unsigned char>(24)));
  std::string message = error_of([&] { load_idx_dataset(images, labels, 10); });
  EXPECT_NE(message.find(images + ": not an idx file"), std::string::npos) << message;
  EXPECT_NE(message.find("magic 0x801"), std::string::npos) << message;

  write_bytes(images, idx_bytes(0x803, {3, 2, 4}, std::vector<unsigned char>(23)));
  message = error_of([&] { load_idx_dataset(images, labels, 10); });
  EXPECT_NE(message.find(images + ": truncated"), std::string::npos) << message;

  write_bytes(images, idx_bytes(0x803, {3, 2, 4}, std::vector<unsigned char>(25)));
  message = error_of([&] { load_idx_dataset(images, labels, 10); });
  EXPECT_NE(message.find(images + ": data continues past"), std::string::npos) << message;

  write_bytes(images, idx_bytes(0x803, {4, 2, 4}, std::vector<unsigned char>(32)));
  message = error_of([&] { load_idx_dataset(images, labels, 10); });
  EXPECT_NE(message.find(labels + " holds 3 labels but " + images + " holds 4 images"),
            std::string::npos)
      << message;

  write_bytes(images, tiny.images);
  message = error_of([&] { load_idx_dataset(images, labels, 8); });  // label 9 >= 8
  EXPECT_NE(message.find(labels + ": label 9 of sample 2"), std::string::npos) << message;

  message = error_of([&] { load_mnist(dir.path().string(), Split::train, MnistKind::mnist); });
  EXPECT_NE(message.find("has neither train-images-idx3-ubyte.gz nor train-images-idx3-ubyte"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace sombrero::datasets
