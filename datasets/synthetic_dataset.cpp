#include "datasets/synthetic_dataset.h"

#include <cstdint>

#include "datasets/sample_random.h"

namespace sombrero::datasets {

SyntheticDataset::SyntheticDataset(std::size_t size, int num_classes, ImageShape shape,
                                   std::uint64_t seed)
    : size_(size), num_classes_(num_classes), shape_(shape), seed_(seed) {
  SOMBRERO_CHECK(size > 0 && num_classes > 0, "synthetic dataset needs samples and classes (got ",
                 size, " samples, ", num_classes, " classes)");
  SOMBRERO_CHECK(
      shape.height > 0 && shape.width > 0 && (shape.channels == 1 || shape.channels == 3),
      "synthetic dataset: bad image shape ", shape.height, "x", shape.width, "x", shape.channels);
}

int SyntheticDataset::label(std::size_t index) const {
  SOMBRERO_CHECK(index < size_, "sample ", index, " out of range (synthetic has ", size_, ")");
  // The label stream is the image stream of an index past every sample (no overlap).
  SampleRandom random(SampleKey{seed_, 1, index}, RandomPurpose::synthetic);
  return static_cast<int>(random.below(static_cast<std::uint64_t>(num_classes_)));
}

Image SyntheticDataset::decode(std::size_t index, const DecodeRequest& /*request*/) const {
  SOMBRERO_CHECK(index < size_, "sample ", index, " out of range (synthetic has ", size_, ")");
  Image image;
  image.shape = shape_;
  image.source_height = shape_.height;
  image.source_width = shape_.width;
  image.pixels.resize(shape_.pixels());
  SampleRandom random(SampleKey{seed_, 0, index}, RandomPurpose::synthetic);
  std::size_t i = 0;
  for (; i + 4 <= image.pixels.size(); i += 4) {
    const std::uint32_t word = random.next_u32();
    for (int b = 0; b < 4; ++b) image.pixels[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
  }
  for (; i < image.pixels.size(); ++i)
    image.pixels[i] = static_cast<std::uint8_t>(random.next_u32());
  return image;
}

std::string SyntheticDataset::describe(std::size_t index) const {
  return str("synthetic sample ", index);
}

}  // namespace sombrero::datasets
