#include "runtime/shape.h"

#include <cstdint>

#include "runtime/error.h"

namespace sombrero::runtime {

Shape::Shape(std::initializer_list<std::int64_t> extents) {
  SOMBRERO_CHECK(extents.size() <= static_cast<std::size_t>(max_rank), "a shape has at most ",
                 max_rank, " dimensions, got ", extents.size());
  for (const std::int64_t extent : extents) {
    SOMBRERO_CHECK(extent >= 0, "shape extents must be >= 0, got ", extent, " in dimension ",
                   rank_);
    extents_[rank_++] = extent;
  }
}

std::int64_t Shape::operator[](int i) const {
  SOMBRERO_CHECK(i >= 0 && i < rank_, "dimension ", i, " is out of range for shape ",
                 to_string(*this), " of rank ", rank_);
  return extents_[i];
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= extents_[i];
  return n;
}

Shape Shape::with_extent(int i, std::int64_t extent) const {
  SOMBRERO_CHECK(i >= 0 && i < rank_, "dimension ", i, " is out of range for shape ",
                 to_string(*this));
  SOMBRERO_CHECK(extent >= 0, "shape extents must be >= 0, got ", extent);
  Shape out = *this;
  out.extents_[i] = extent;
  return out;
}

std::string to_string(const Shape& shape) {
  std::string out = "[";
  for (int i = 0; i < shape.rank(); ++i) out += str(i ? ", " : "", shape[i]);
  return out + "]";
}

}  // namespace sombrero::runtime
