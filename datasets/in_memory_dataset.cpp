#include "datasets/in_memory_dataset.h"

#include <cstdint>
#include <utility>

namespace sombrero::datasets {

InMemoryDataset::InMemoryDataset(ImageShape shape, int num_classes,
                                 std::vector<std::uint8_t> pixels, std::vector<std::int32_t> labels,
                                 std::string source, std::vector<std::string> class_names)
    : shape_(shape),
      num_classes_(num_classes),
      pixels_(std::move(pixels)),
      labels_(std::move(labels)),
      source_(std::move(source)),
      class_names_(std::move(class_names)) {
  SOMBRERO_CHECK(pixels_.size() == labels_.size() * shape_.pixels(), source_, ": ", pixels_.size(),
                 " pixel bytes do not hold ", labels_.size(), " images of ", shape_.height, "x",
                 shape_.width, "x", shape_.channels);
}

int InMemoryDataset::label(std::size_t index) const {
  SOMBRERO_CHECK(index < labels_.size(), "sample ", index, " out of range (", source_, " has ",
                 labels_.size(), ")");
  return labels_[index];
}

const std::uint8_t* InMemoryDataset::pixels(std::size_t index) const {
  SOMBRERO_CHECK(index < labels_.size(), "sample ", index, " out of range (", source_, " has ",
                 labels_.size(), ")");
  return pixels_.data() + index * shape_.pixels();
}

Image InMemoryDataset::decode(std::size_t index, const DecodeRequest& /*request*/) const {
  const std::uint8_t* first = pixels(index);
  Image image;
  image.shape = shape_;
  image.pixels.assign(first, first + shape_.pixels());
  image.source_height = shape_.height;
  image.source_width = shape_.width;
  return image;
}

std::string InMemoryDataset::describe(std::size_t index) const {
  return str(source_, " sample ", index);
}

std::string InMemoryDataset::class_name(int label) const {
  if (label >= 0 && static_cast<std::size_t>(label) < class_names_.size()) {
    return class_names_[label];
  }
  return std::to_string(label);
}

}  // namespace sombrero::datasets
