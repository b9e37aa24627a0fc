// SyntheticDataset: random images and labels from a seed, for benchmarks and tests. Sample i
// is a pure function of (seed, i): uniform random bytes and a uniform label, both drawn from
// Philox (datasets/sample_random.h), so it needs no memory and reads the same everywhere.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/dataset.h"

namespace sombrero::datasets {

class SyntheticDataset : public Dataset {
 public:
  SyntheticDataset(std::size_t size, int num_classes, ImageShape shape, std::uint64_t seed);

  std::size_t size() const override { return size_; }
  int num_classes() const override { return num_classes_; }
  int label(std::size_t index) const override;
  int channels() const override { return shape_.channels; }
  std::optional<ImageShape> fixed_shape() const override { return shape_; }
  Image decode(std::size_t index, const DecodeRequest& request = {}) const override;
  std::string describe(std::size_t index) const override;

 private:
  std::size_t size_;
  int num_classes_;
  ImageShape shape_;
  std::uint64_t seed_;
};

}  // namespace sombrero::datasets
