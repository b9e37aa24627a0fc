// The CIFAR binary reader (tiny files written here) and the synthetic dataset.
#include <gtest/gtest.h>

#include <set>

#include "datasets/cifar_dataset.h"
#include "datasets/synthetic_dataset.h"
#include "tests/datasets/temp_dir.h"
#include "tests/runtime/error_of.h"

namespace sombrero::datasets {
namespace {

using test_support::error_of;
using testing::TempDir;
using testing::write_bytes;

// A record whose plane c holds (c * 50 + p) % 256 at position p.
std::vector<unsigned char> cifar_record(const std::vector<unsigned char>& label_bytes) {
  std::vector<unsigned char> record = label_bytes;
  for (int c = 0; c < 3; ++c) {
    for (int p = 0; p < 1024; ++p) record.push_back(static_cast<unsigned char>((c * 50 + p) % 256));
  }
  return record;
}

TEST(CifarDataset, ReadsCifar10RecordsAsHwc) {
  const TempDir dir("cifar10");
  std::vector<unsigned char> bytes;
  for (const unsigned char label : {3, 9}) {
    const auto record = cifar_record({label});
    bytes.insert(bytes.end(), record.begin(), record.end());
  }
  write_bytes(dir.file("test_batch.bin"), bytes);
  const auto data = load_cifar(dir.path().string(), Split::test, CifarKind::cifar10);
  ASSERT_EQ(data->size(), 2u);
  EXPECT_EQ(data->num_classes(), 10);
  EXPECT_EQ(*data->fixed_shape(), (ImageShape{32, 32, 3}));
  EXPECT_EQ(data->label(0), 3);
  EXPECT_EQ(data->label(1), 9);
  const Image image = data->decode(1);
  for (const int y : {0, 5, 31}) {
    for (const int x : {0, 17, 31}) {
      for (int c = 0; c < 3; ++c) {
        const int p = y * 32 + x;
        EXPECT_EQ(image.pixels[p * 3 + c], (c * 50 + p) % 256) << y << "," << x << "," << c;
      }
    }
  }
}

TEST(CifarDataset, Cifar100UsesTheFineLabel) {
  const TempDir dir("cifar100");
  write_bytes(dir.file("train.bin"), cifar_record({4, 87}));
  const auto data = load_cifar(dir.path().string(), Split::train, CifarKind::cifar100);
  EXPECT_EQ(data->num_classes(), 100);
  EXPECT_EQ(data->label(0), 87);
}

TEST(CifarDataset, BadFilesGiveErrorsNamingTheFile) {
  const TempDir dir("cifar_bad");
  auto record = cifar_record({3});
  record.pop_back();
  write_bytes(dir.file("test_batch.bin"), record);
  std::string message =
      error_of([&] { load_cifar(dir.path().string(), Split::test, CifarKind::cifar10); });
  EXPECT_NE(
      message.find(dir.file("test_batch.bin") + ": 3072 bytes is not a whole number of 3073-byte"),
      std::string::npos)
      << message;
  write_bytes(dir.file("test_batch.bin"), cifar_record({10}));
  message = error_of([&] { load_cifar(dir.path().string(), Split::test, CifarKind::cifar10); });
  EXPECT_NE(message.find(dir.file("test_batch.bin") + ": label 10 of record 0"), std::string::npos)
      << message;
  message = error_of([&] { load_cifar(dir.path().string(), Split::train, CifarKind::cifar10); });
  EXPECT_NE(message.find("has no data_batch_1.bin"), std::string::npos) << message;
}

TEST(SyntheticDataset, IsAFunctionOfSeedAndIndex) {
  const SyntheticDataset a(50, 7, ImageShape{5, 6, 3}, 11);
  const SyntheticDataset b(50, 7, ImageShape{5, 6, 3}, 11);
  const SyntheticDataset other_seed(50, 7, ImageShape{5, 6, 3}, 12);
  std::set<int> labels;
  int differing = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.label(i), b.label(i));
    EXPECT_EQ(a.decode(i).pixels, b.decode(i).pixels);
    ASSERT_GE(a.label(i), 0);
    ASSERT_LT(a.label(i), 7);
    labels.insert(a.label(i));
    differing += a.decode(i).pixels != other_seed.decode(i).pixels;
  }
  EXPECT_EQ(labels.size(), 7u);  // 50 draws from 7 classes
  EXPECT_EQ(differing, 50);
  EXPECT_NE(a.decode(0).pixels, a.decode(1).pixels);
  const Image image = a.decode(3);
  EXPECT_EQ(image.pixels.size(), 5u * 6u * 3u);
}

}  // namespace
}  // namespace sombrero::datasets
