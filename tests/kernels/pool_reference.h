// The CPU backend's pooling results for one shape and inputs (the reference of the simt and
// gpu pooling tests), and the offset-buffer helpers both use to reach the kernels'
// one-element path: a view at offset 1 is off the 16-byte alignment whatever C is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/pool/pool.h"

namespace sombrero::test {

inline std::size_t pool_input_size(const kernels::Pool2dShape& s) {
  return std::size_t(s.batch) * s.in_height * s.in_width * s.channels;
}
inline std::size_t pool_output_size(const kernels::Pool2dShape& s) {
  return std::size_t(s.batch) * s.out_height() * s.out_width() * s.channels;
}

// Max pooling forward (y, argmax) and backward (dx), average pooling forward and backward.
struct PoolReference {
  std::vector<float> y, dx, avg_y, avg_dx;
  std::vector<kernels::PoolArgmax> argmax;
};

inline PoolReference cpu_pool_reference(const kernels::Pool2dShape& s, const std::vector<float>& x,
                                        const std::vector<float>& dy) {
  PoolReference r{std::vector<float>(pool_output_size(s)), std::vector<float>(pool_input_size(s)),
                  std::vector<float>(pool_output_size(s)), std::vector<float>(pool_input_size(s)),
                  std::vector<kernels::PoolArgmax>(pool_output_size(s))};
  kernels::cpu::max_pool2d_forward(s, x.data(), r.y.data(), r.argmax.data());
  kernels::cpu::max_pool2d_backward(s, dy.data(), r.argmax.data(), r.dx.data());
  kernels::cpu::avg_pool2d_forward(s, x.data(), r.avg_y.data());
  kernels::cpu::avg_pool2d_backward(s, dy.data(), r.avg_dx.data());
  return r;
}

// v behind `offset` elements of padding (value `pad`).
template <typename U>
std::vector<U> behind(std::size_t offset, const std::vector<U>& v, U pad = U{}) {
  std::vector<U> out(offset, pad);
  out.insert(out.end(), v.begin(), v.end());
  return out;
}
// The view of a buffer made by behind(): its elements from `offset`.
template <typename U>
std::vector<U> view(std::size_t offset, const std::vector<U>& v) {
  return std::vector<U>(v.begin() + std::ptrdiff_t(offset), v.end());
}

}  // namespace sombrero::test
