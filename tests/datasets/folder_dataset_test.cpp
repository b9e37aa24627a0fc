// Folder and ImageNet layouts over a tiny tree written by the test: colour, grayscale and
// CMYK JPEGs, a PNG named .JPEG, a real .png, a truncated JPEG; decoding (DCT scaling), the
// loader over it (determinism, bad-file handling) and the layout errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>

#include "datasets/folder_dataset.h"
#include "datasets/image_decode.h"
#include "datasets/imagenet_dataset.h"
#include "datasets/loader.h"
#include "tests/datasets/image_files.h"
#include "tests/runtime/error_of.h"

namespace sombrero::datasets {
namespace {

using test_support::error_of;
using namespace testing;  // NOLINT: TempDir and the image writers

constexpr int kWidth = 64;
constexpr int kHeight = 48;

// root/train/{n01,n02,n03}, root/synset_words.txt. Returns the truncated file's path.
std::string write_train_tree(const TempDir& root) {
  const std::string train = (root.path() / "train").string();
  const std::vector<std::uint8_t> rgb = gradient_rgb(kWidth, kHeight);
  const std::vector<std::uint8_t> gray(kWidth * kHeight, 200);
  std::vector<std::uint8_t> cmyk(kWidth * kHeight * 4);
  for (std::size_t p = 0; p < cmyk.size() / 4; ++p) {  // Adobe-inverted red: C=255 M=0 Y=0 K=255
    cmyk[4 * p] = 255;
    cmyk[4 * p + 3] = 255;
  }
  write_jpeg(train + "/n01/a_color.JPEG", rgb, kWidth, kHeight, TJPF_RGB);
  write_jpeg(train + "/n01/b_gray.JPEG", gray, kWidth, kHeight, TJPF_GRAY);
  EXPECT_TRUE(write_png(train + "/n01/c_png_named_jpeg.JPEG", rgb, kWidth, kHeight));
  write_jpeg(train + "/n02/a_cmyk.JPEG", cmyk, kWidth, kHeight, TJPF_CMYK);
  write_jpeg(train + "/n02/b_color.jpg", rgb, kWidth, kHeight, TJPF_RGB);
  std::vector<unsigned char> truncated = encode_jpeg(rgb, kWidth, kHeight, TJPF_RGB);
  truncated.resize(truncated.size() / 2);
  write_bytes(train + "/n02/c_truncated.JPEG", truncated);
  EXPECT_TRUE(write_png(train + "/n03/a.png", rgb, kWidth, kHeight));
  write_bytes(train + "/n03/notes.txt", {'h', 'i'});  // not an image: ignored
  std::ofstream(root.file("synset_words.txt")) << "n01 tench, Tinca tinca\nn02 goldfish\n"
                                                  "n03 great white shark\n";
  return train + "/n02/c_truncated.JPEG";
}

TEST(FolderDataset, ReadsTheImageNetTrainLayout) {
  const TempDir root("imagenet");
  const std::string truncated = write_train_tree(root);
  const auto data = load_imagenet(root.path().string(), Split::train);
  ASSERT_EQ(data->size(), 7u);
  EXPECT_EQ(data->num_classes(), 3);
  EXPECT_FALSE(data->fixed_shape().has_value());
  const std::vector<int> labels{0, 0, 0, 1, 1, 1, 2};
  for (std::size_t i = 0; i < labels.size(); ++i) EXPECT_EQ(data->label(i), labels[i]) << i;
  EXPECT_EQ(data->class_name(0), "tench, Tinca tinca");
  EXPECT_EQ(data->describe(5), truncated);

  const std::vector<std::uint8_t> rgb = gradient_rgb(kWidth, kHeight);
  for (std::size_t i = 0; i < data->size(); ++i) {
    if (i == 5) continue;
    const Image image = data->decode(i);
    ASSERT_EQ(image.shape, (ImageShape{kHeight, kWidth, 3})) << data->describe(i);
  }
  // PNG (also the one named .JPEG): lossless. Colour JPEG: close to the source.
  EXPECT_EQ(data->decode(2).pixels, rgb);
  EXPECT_EQ(data->decode(6).pixels, rgb);
  const Image color = data->decode(0);
  int worst = 0;
  for (std::size_t k = 0; k < rgb.size(); ++k)
    worst = std::max(worst, std::abs(color.pixels[k] - rgb[k]));
  EXPECT_LE(worst, 12);
  // Grayscale expands to equal channels; CMYK (Adobe-inverted) red converts to red.
  const Image gray = data->decode(1);
  for (std::size_t p = 0; p < gray.pixels.size(); p += 3) {
    ASSERT_EQ(gray.pixels[p], gray.pixels[p + 1]);
    ASSERT_EQ(gray.pixels[p], gray.pixels[p + 2]);
    ASSERT_NEAR(gray.pixels[p], 200, 2);
  }
  const Image cmyk = data->decode(3);
  EXPECT_NEAR(cmyk.pixels[0], 255, 3);
  EXPECT_NEAR(cmyk.pixels[1], 0, 3);
  EXPECT_NEAR(cmyk.pixels[2], 0, 3);
  // The truncated file is unreadable, and says which file it is.
  try {
    data->decode(5);
    ADD_FAILURE() << "a truncated JPEG decoded";
  } catch (const UnreadableImage& bad) {
    EXPECT_EQ(bad.path(), truncated);
    EXPECT_NE(bad.reason().find("truncated"), std::string::npos) << bad.reason();
  }
}

TEST(FolderDataset, JpegDecodesAtTheSmallestCoveringDctScale) {
  const TempDir root("dct");
  write_jpeg(root.file("a.jpg"), gradient_rgb(kWidth, kHeight), kWidth, kHeight, TJPF_RGB);
  const auto request = [](double fraction) {
    return [fraction](int height, int width) {
      EXPECT_EQ(height, kHeight);
      EXPECT_EQ(width, kWidth);
      return DecodeNeeds{fraction, {}};
    };
  };
  EXPECT_EQ(decode_image_file(root.file("a.jpg"), request(1.0)).shape, (ImageShape{48, 64, 3}));
  EXPECT_EQ(decode_image_file(root.file("a.jpg"), request(0.5)).shape, (ImageShape{24, 32, 3}));
  // 0.3 of 64 = 19.2 -> 20 columns: 1/4 (16) is too small, 3/8 (24) covers it.
  const Image scaled = decode_image_file(root.file("a.jpg"), request(0.3));
  EXPECT_EQ(scaled.shape, (ImageShape{18, 24, 3}));
  EXPECT_EQ(scaled.source_width, kWidth);
  EXPECT_EQ(scaled.source_height, kHeight);
  write_bytes(root.file("b.jpg"), {'G', 'I', 'F', '8'});
  EXPECT_NE(
      error_of([&] { decode_image_file(root.file("b.jpg")); }).find("neither a JPEG nor a PNG"),
      std::string::npos);
}

TEST(FolderDataset, LoaderSkipsTheTruncatedFileAndIsDeterministic) {
  const TempDir root("imagenet_loader");
  const std::string truncated = write_train_tree(root);
  const std::shared_ptr<const Dataset> data = load_imagenet(root.path().string(), Split::train);
  TransformSpec spec;
  spec.geometry = Geometry::random_resized_crop;
  spec.size = 16;
  spec.hflip = true;
  LoaderOptions options;
  options.batch_size = 3;
  options.drop_last = false;
  options.max_bad_fraction = 0.2;  // 1 of 7 allowed
  std::vector<std::vector<std::uint8_t>> first;
  for (const int workers : {1, 3}) {
    options.workers = workers;
    Loader loader(data, Transform(spec, *data), options);
    loader.start(LoaderPosition{1, 0});
    std::vector<std::vector<std::uint8_t>> batches;
    std::set<std::int64_t> samples;
    while (const Batch* batch = loader.next()) {
      EXPECT_EQ(batch->shape, (ImageShape{16, 16, 3}));
      batches.emplace_back(batch->images, batch->images + batch->size * batch->shape.pixels());
      samples.insert(batch->samples, batch->samples + batch->size);
    }
    EXPECT_EQ(samples.count(5), 0u);  // the truncated file, replaced
    EXPECT_EQ(loader.stats().unreadable_samples, 1);
    if (first.empty()) {
      first = batches;
    } else {
      EXPECT_EQ(batches, first);
    }
  }
  options.max_bad_fraction = 0.1;  // none of 7 allowed
  Loader strict(data, Transform(spec, *data), options);
  strict.start(LoaderPosition{0, 0});
  const std::string message = error_of([&] {
    while (strict.next() != nullptr) {
    }
  });
  EXPECT_NE(message.find("exceed data.max_bad_fraction"), std::string::npos) << message;
  EXPECT_NE(message.find(truncated), std::string::npos) << message;
}

TEST(FolderDataset, ValInClassFoldersOrFlatWithGroundTruth) {
  const TempDir root("imagenet_val");
  write_train_tree(root);
  const std::vector<std::uint8_t> rgb = gradient_rgb(kWidth, kHeight);
  const std::string val = (root.path() / "val").string();
  for (int k = 1; k <= 3; ++k) {
    write_jpeg(val + "/ILSVRC2012_val_0000000" + std::to_string(k) + ".JPEG", rgb, kWidth, kHeight,
               TJPF_RGB);
  }
  // No ground truth yet.
  EXPECT_NE(error_of([&] {
              load_imagenet(root.path().string(), Split::test);
            }).find("is flat but no ground truth was found"),
            std::string::npos);
  // Devkit: IDs in the devkit's synset order (n03, n01, n02), not sorted order.
  std::ofstream(root.file("ILSVRC2012_validation_ground_truth.txt")) << "1\n3\n2\n";
  EXPECT_NE(error_of([&] {
              load_imagenet(root.path().string(), Split::test);
            }).find("ILSVRC2012_devkit_synsets.txt"),
            std::string::npos);
  std::ofstream(root.file("ILSVRC2012_devkit_synsets.txt")) << "n03\nn01\nn02\n";
  auto data = load_imagenet(root.path().string(), Split::test);
  ASSERT_EQ(data->size(), 3u);
  EXPECT_EQ(data->label(0), 2);
  EXPECT_EQ(data->label(1), 1);
  EXPECT_EQ(data->label(2), 0);
  // Kaggle's CSV takes precedence; an image missing from it is an error naming the file.
  std::ofstream(root.file("LOC_val_solution.csv"))
      << "ImageId,PredictionString\nILSVRC2012_val_00000002,n01 1 2 3 4\n"
         "ILSVRC2012_val_00000001,n02 1 2 3 4 n02 5 6 7 8\n";
  EXPECT_NE(error_of([&] {
              load_imagenet(root.path().string(), Split::test);
            }).find("has no entry for " + val + "/ILSVRC2012_val_00000003.JPEG"),
            std::string::npos);
  std::ofstream(root.file("LOC_val_solution.csv"), std::ios::app)
      << "ILSVRC2012_val_00000003,n03\n";
  data = load_imagenet(root.path().string(), Split::test);
  EXPECT_EQ(data->label(0), 1);
  EXPECT_EQ(data->label(1), 0);
  EXPECT_EQ(data->label(2), 2);
  // Val in class folders: labels follow train's sorted classes.
  const TempDir folders("imagenet_val_folders");
  write_train_tree(folders);
  write_jpeg(folders.file("val/n03/x.JPEG"), rgb, kWidth, kHeight, TJPF_RGB);
  data = load_imagenet(folders.path().string(), Split::test);
  ASSERT_EQ(data->size(), 1u);
  EXPECT_EQ(data->label(0), 2);
  EXPECT_EQ(data->num_classes(), 3);
}

TEST(FolderDataset, LayoutErrorsNameTheFolder) {
  const TempDir root("folder_errors");
  EXPECT_NE(error_of([&] {
              load_image_folder(root.file("missing"));
            }).find(root.file("missing") + " does not exist"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_image_folder(root.path().string()); }).find("has no class folders"),
            std::string::npos);
  write_jpeg(root.file("cats/1.jpg"), gradient_rgb(8, 8), 8, 8, TJPF_RGB);
  std::filesystem::create_directories(root.path() / "dogs");
  EXPECT_NE(error_of([&] {
              load_image_folder(root.path().string());
            }).find("class folder " + root.file("dogs") + " holds no images"),
            std::string::npos);
  write_jpeg(root.file("dogs/1.JPG"), gradient_rgb(8, 8), 8, 8, TJPF_RGB);
  const auto data = load_image_folder(root.path().string());
  EXPECT_EQ(data->size(), 2u);
  EXPECT_EQ(data->class_name(1), "dogs");
  EXPECT_NE(error_of([&] {
              load_imagenet(root.path().string(), Split::train);
            }).find("has no train/ folder"),
            std::string::npos);
}

}  // namespace
}  // namespace sombrero::datasets
