// Shape: the extents of a Tensor, rank 0 to 4. Activations are NHWC by convention
// (batch, height, width, channels), convolution weights KRSC; a Shape itself has no layout.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace sombrero::runtime {

class Shape {
 public:
  static constexpr int max_rank = 4;

  Shape() = default;  // rank 0: a scalar with one element
  // Shape{n, h, w, c}; throws sombrero::Error for more than 4 extents or a negative extent.
  Shape(std::initializer_list<std::int64_t> extents);

  int rank() const { return rank_; }
  // Extent of dimension i (0 <= i < rank), checked.
  std::int64_t operator[](int i) const;
  std::int64_t numel() const;  // product of the extents; 1 for rank 0

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.extents_[i] != b.extents_[i]) return false;
    return true;
  }

  // A copy with dimension i set to `extent` (used by slices).
  Shape with_extent(int i, std::int64_t extent) const;

 private:
  std::array<std::int64_t, max_rank> extents_{};
  int rank_ = 0;
};

// "[2, 3, 4]"; "[]" for rank 0.
std::string to_string(const Shape& shape);

}  // namespace sombrero::runtime
