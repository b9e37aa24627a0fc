// InMemoryDataset: fixed-size images and labels held in memory (the idx and CIFAR readers
// load whole files into one). Images are stored back to back in HWC order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace sombrero::datasets {

class InMemoryDataset : public Dataset {
 public:
  // `pixels` holds labels.size() images of `shape`; every label is in [0, num_classes).
  // `source` names where the data came from, for describe().
  InMemoryDataset(ImageShape shape, int num_classes, std::vector<std::uint8_t> pixels,
                  std::vector<std::int32_t> labels, std::string source,
                  std::vector<std::string> class_names = {});

  std::size_t size() const override { return labels_.size(); }
  int num_classes() const override { return num_classes_; }
  int label(std::size_t index) const override;
  int channels() const override { return shape_.channels; }
  std::optional<ImageShape> fixed_shape() const override { return shape_; }
  Image decode(std::size_t index, const DecodeRequest& request = {}) const override;
  std::string describe(std::size_t index) const override;
  std::string class_name(int label) const override;

  // Sample `index`'s pixels in place (shape().pixels() bytes).
  const std::uint8_t* pixels(std::size_t index) const;

 private:
  ImageShape shape_;
  int num_classes_;
  std::vector<std::uint8_t> pixels_;
  std::vector<std::int32_t> labels_;
  std::string source_;
  std::vector<std::string> class_names_;
};

}  // namespace sombrero::datasets
