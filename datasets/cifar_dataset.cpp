#include "datasets/cifar_dataset.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace sombrero::datasets {

namespace {

constexpr int side = 32;
constexpr int plane = side * side;

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SOMBRERO_CHECK(in, path, ": cannot open");
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::unique_ptr<InMemoryDataset> load_cifar_files(const std::vector<std::string>& paths,
                                                  CifarKind kind) {
  const int label_bytes = kind == CifarKind::cifar10 ? 1 : 2;
  const int num_classes = kind == CifarKind::cifar10 ? 10 : 100;
  const std::size_t record = label_bytes + 3 * plane;
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> labels;
  for (const std::string& path : paths) {
    const std::vector<std::uint8_t> bytes = read_file(path);
    SOMBRERO_CHECK(!bytes.empty() && bytes.size() % record == 0, path, ": ", bytes.size(),
                   " bytes is not a whole number of ", record, "-byte ",
                   kind == CifarKind::cifar10 ? "CIFAR-10" : "CIFAR-100", " records");
    const std::size_t count = bytes.size() / record;
    const std::size_t first = labels.size();
    pixels.resize((first + count) * 3 * plane);
    for (std::size_t r = 0; r < count; ++r) {
      const std::uint8_t* in = bytes.data() + r * record;
      const int label = in[label_bytes - 1];  // CIFAR-100: the fine label
      SOMBRERO_CHECK(label < num_classes, path, ": label ", label, " of record ", r,
                     " is not below the ", num_classes, " classes");
      labels.push_back(label);
      std::uint8_t* out = pixels.data() + (first + r) * 3 * plane;
      for (int p = 0; p < plane; ++p) {
        for (int c = 0; c < 3; ++c) out[3 * p + c] = in[label_bytes + c * plane + p];
      }
    }
  }
  std::string source =
      paths.size() == 1 ? paths[0] : paths[0] + " (+" + std::to_string(paths.size() - 1) + " more)";
  return std::make_unique<InMemoryDataset>(ImageShape{side, side, 3}, num_classes,
                                           std::move(pixels), std::move(labels), std::move(source));
}

std::unique_ptr<InMemoryDataset> load_cifar(const std::string& root, Split split, CifarKind kind) {
  namespace fs = std::filesystem;
  SOMBRERO_CHECK(fs::is_directory(root), "dataset folder ", root, " does not exist");
  std::vector<std::string> names;
  if (kind == CifarKind::cifar10) {
    if (split == Split::train) {
      for (int b = 1; b <= 5; ++b) names.push_back("data_batch_" + std::to_string(b) + ".bin");
    } else {
      names.push_back("test_batch.bin");
    }
  } else {
    names.push_back(split == Split::train ? "train.bin" : "test.bin");
  }
  std::vector<std::string> paths;
  for (const std::string& name : names) {
    const fs::path path = fs::path(root) / name;
    SOMBRERO_CHECK(fs::exists(path), "dataset folder ", root, " has no ", name);
    paths.push_back(path.string());
  }
  return load_cifar_files(paths, kind);
}

}  // namespace sombrero::datasets
