// Inputs and comparisons shared by the kernel tests: seeded random and small-integer
// values, bf16 conversions of whole vectors, and the norm-wise relative error.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <type_traits>
#include <vector>

#include "runtime/bf16.h"

namespace sombrero::test {

// Standard normal values from a seeded generator.
inline std::vector<float> random_values(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Integers in [-2, 2]: exact in bf16, and sums of products of them stay exact in f32 while
// below 2^24, so every correct summation order gives the same bits.
inline std::vector<float> small_integers(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(int(rng() % 5) - 2);
  return v;
}

inline std::vector<float> rounded_to_bf16(std::vector<float> v) {
  for (float& x : v) x = bf16_to_float(float_to_bf16(x));
  return v;
}

inline std::vector<bf16> to_bf16(const std::vector<float>& v) {
  std::vector<bf16> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = float_to_bf16(v[i]);
  return out;
}

inline std::vector<float> to_float(const std::vector<bf16>& v) {
  std::vector<float> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_float(v[i]);
  return out;
}

// The inputs of a kernel run in its element type T (float, or bf16 for the bf16 overloads).
template <typename T>
std::vector<T> as(const std::vector<float>& v) {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else
    return to_bf16(v);
}

// A kernel's outputs of element type T widened to float for comparison.
template <typename T>
std::vector<float> widen(const std::vector<T>& v) {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else
    return to_float(v);
}

// ||got - want|| / ||want||. A NaN anywhere in `got` makes it NaN, which fails any bound.
template <typename T>
double relative_error(const std::vector<float>& got, const std::vector<T>& want) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = double(got[i]) - double(want[i]);
    diff += d * d;
    norm += double(want[i]) * double(want[i]);
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

}  // namespace sombrero::test
