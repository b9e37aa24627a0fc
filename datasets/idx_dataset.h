// MNIST and Fashion-MNIST in LeCun's idx format, gzipped or not (zlib reads both).
//
// An idx file is a big-endian header, magic 0x0000080D (D = number of dimensions, type byte
// 0x08 = unsigned byte), then D 32-bit sizes, then the bytes. Images are 3-D (count, rows,
// cols), labels 1-D (count). Files are named as distributed: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each with or
// without .gz. Wrong magic, short or overlong data, labels out of range and a count that
// differs between images and labels are errors naming the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/in_memory_dataset.h"

namespace sombrero::datasets {

struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

// Reads an unsigned-byte idx file with `expected_dims` dimensions.
IdxArray read_idx(const std::string& path, int expected_dims);

// Images (count x rows x cols) and labels (count) from two idx files, labels in
// [0, num_classes). The images have one channel.
std::unique_ptr<InMemoryDataset> load_idx_dataset(const std::string& images_path,
                                                  const std::string& labels_path, int num_classes,
                                                  std::vector<std::string> class_names = {});

enum class MnistKind { mnist, fashion_mnist };

// The train (60000) or test (10000) split from a folder holding the four standard files.
std::unique_ptr<InMemoryDataset> load_mnist(const std::string& root, Split split, MnistKind kind);

}  // namespace sombrero::datasets
