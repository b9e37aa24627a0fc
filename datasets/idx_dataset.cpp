#include "datasets/idx_dataset.h"

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <utility>

namespace sombrero::datasets {

namespace {

// A gzFile closed on scope exit; zlib reads plain files through the same calls.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    SOMBRERO_CHECK(file_ != nullptr, path, ": cannot open");
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to `bytes` bytes; returns how many were read (fewer at the end of the file).
  std::size_t read(void* target, std::size_t bytes) {
    std::size_t done = 0;
    auto* out = static_cast<unsigned char*>(target);
    while (done < bytes) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(bytes - done, 1u << 30));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        SOMBRERO_FAIL(path_, ": read error (", gzerror(file_, &code), ")");
      }
      if (got == 0) break;
      done += static_cast<std::size_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile file_;
};

std::uint32_t big_endian(const unsigned char bytes[4]) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

// `name` in `root`, gzipped or not; an error listing both when neither exists.
std::string find_idx_file(const std::string& root, const std::string& name) {
  namespace fs = std::filesystem;
  SOMBRERO_CHECK(fs::is_directory(root), "dataset folder ", root, " does not exist");
  for (const std::string& candidate : {name + ".gz", name}) {
    const fs::path path = fs::path(root) / candidate;
    if (fs::exists(path)) return path.string();
  }
  SOMBRERO_FAIL("dataset folder ", root, " has neither ", name, ".gz nor ", name);
}

}  // namespace

IdxArray read_idx(const std::string& path, int expected_dims) {
  GzReader file(path);
  unsigned char header[4];
  SOMBRERO_CHECK(file.read(header, 4) == 4, path, ": empty or not an idx file");
  const std::uint32_t magic = big_endian(header);
  const std::uint32_t expected_magic = 0x0800u | static_cast<std::uint32_t>(expected_dims);
  SOMBRERO_CHECK(magic == expected_magic, path, ": not an idx file of ", expected_dims,
                 "-D unsigned bytes (magic 0x", std::hex, magic, ", expected 0x", expected_magic,
                 ")");
  IdxArray array;
  std::size_t total = 1;
  for (int d = 0; d < expected_dims; ++d) {
    SOMBRERO_CHECK(file.read(header, 4) == 4, path, ": truncated idx header");
    const std::uint32_t size = big_endian(header);
    SOMBRERO_CHECK(size > 0 && size < (1u << 28), path, ": implausible size ", size,
                   " of dimension ", d);
    array.dims.push_back(size);
    total *= size;
  }
  array.data.resize(total);
  const std::size_t got = file.read(array.data.data(), total);
  SOMBRERO_CHECK(got == total, path, ": truncated: the header promises ", total,
                 " bytes of data, the file holds ", got);
  unsigned char extra;
  SOMBRERO_CHECK(file.read(&extra, 1) == 0, path, ": data continues past the ", total,
                 " bytes its header promises; wrong sizes in the header?");
  return array;
}

std::unique_ptr<InMemoryDataset> load_idx_dataset(const std::string& images_path,
                                                  const std::string& labels_path, int num_classes,
                                                  std::vector<std::string> class_names) {
  IdxArray images = read_idx(images_path, 3);
  const IdxArray labels = read_idx(labels_path, 1);
  SOMBRERO_CHECK(images.dims[0] == labels.dims[0], labels_path, " holds ", labels.dims[0],
                 " labels but ", images_path, " holds ", images.dims[0], " images");
  std::vector<std::int32_t> label_values(labels.data.begin(), labels.data.end());
  for (std::size_t i = 0; i < label_values.size(); ++i) {
    SOMBRERO_CHECK(label_values[i] < num_classes, labels_path, ": label ", label_values[i],
                   " of sample ", i, " is not below the ", num_classes, " classes");
  }
  const ImageShape shape{static_cast<int>(images.dims[1]), static_cast<int>(images.dims[2]), 1};
  return std::make_unique<InMemoryDataset>(shape, num_classes, std::move(images.data),
                                           std::move(label_values), images_path,
                                           std::move(class_names));
}

std::unique_ptr<InMemoryDataset> load_mnist(const std::string& root, Split split, MnistKind kind) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  std::vector<std::string> names;
  if (kind == MnistKind::fashion_mnist) {
    names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  }
  const std::string images = find_idx_file(root, prefix + "-images-idx3-ubyte");
  const std::string labels = find_idx_file(root, prefix + "-labels-idx1-ubyte");
  return load_idx_dataset(images, labels, 10, std::move(names));
}

}  // namespace sombrero::datasets
