#include "runtime/tensor_cpu.h"

#include <algorithm>
#include <cstdint>

namespace sombrero::runtime::cpu {

namespace {

inline void store(float* at, float value) {
  *at = value;
}
inline void store(bf16* at, float value) {
  *at = float_to_bf16(value);
}

// Calls values4(block, value[4]) for each Philox block of a fill of `count` elements and
// stores the values of elements that exist. Blocks are independent, so the loop is parallel
// and its result does not depend on the thread count.
template <typename Element, typename Values4>
void fill_blocks(Element* data, std::int64_t count, const Values4& values4) {
  const std::int64_t blocks = (count + 3) / 4;
#pragma omp parallel for schedule(static) if (blocks > 16384)
  for (std::int64_t b = 0; b < blocks; ++b) {
    float value[4];
    values4(static_cast<std::uint64_t>(b), value);
    const std::int64_t n = std::min<std::int64_t>(4, count - 4 * b);
    for (std::int64_t j = 0; j < n; ++j) store(data + 4 * b + j, value[j]);
  }
}

template <typename Element>
void fill_uniform(Element* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                  float lo, float hi) {
  fill_blocks(data, count, [&](std::uint64_t b, float* value) {
    philox_uniform4(key, first_block + b, lo, hi, value);
  });
}

template <typename Element>
void fill_normal(Element* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                 float mean, float stddev) {
  fill_blocks(data, count, [&](std::uint64_t b, float* value) {
    philox_normal4(key, first_block + b, mean, stddev, value);
  });
}

}  // namespace

void fill_f32(float* data, std::int64_t count, float value) {
  std::fill(data, data + count, value);
}

void fill_bf16(bf16* data, std::int64_t count, float value) {
  std::fill(data, data + count, float_to_bf16(value));
}

void fill_uniform_f32(float* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                      float lo, float hi) {
  fill_uniform(data, count, key, first_block, lo, hi);
}

void fill_uniform_bf16(bf16* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                       float lo, float hi) {
  fill_uniform(data, count, key, first_block, lo, hi);
}

void fill_normal_f32(float* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                     float mean, float stddev) {
  fill_normal(data, count, key, first_block, mean, stddev);
}

void fill_normal_bf16(bf16* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                      float mean, float stddev) {
  fill_normal(data, count, key, first_block, mean, stddev);
}

void convert_f32_to_bf16(const float* source, bf16* target, std::int64_t count) {
#pragma omp parallel for schedule(static) if (count > 65536)
  for (std::int64_t i = 0; i < count; ++i) target[i] = float_to_bf16(source[i]);
}

void convert_bf16_to_f32(const bf16* source, float* target, std::int64_t count) {
#pragma omp parallel for schedule(static) if (count > 65536)
  for (std::int64_t i = 0; i < count; ++i) target[i] = bf16_to_float(source[i]);
}

}  // namespace sombrero::runtime::cpu
