// CPU backend of sum_squares: the reference the CUDA kernel is tested against. Chunks of a
// fixed size are summed in double in parallel (OpenMP) and the chunk sums added in order, so
// the result does not depend on the thread count; it is rounded once to f32.
#include <cstdint>
#include <vector>

#include "kernels/reduce/sum_squares.h"

namespace sombrero::kernels::cpu {
namespace {

constexpr std::size_t kChunk = 1 << 16;

template <typename Load>
float sum_squares_chunked(std::size_t n, Load load) {
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> sums(chunks, 0.0);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < static_cast<std::int64_t>(chunks); ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * kChunk;
    const std::size_t end = std::min(n, begin + kChunk);
    double sum = 0.0;
    for (std::size_t i = begin; i < end; ++i) {
      const double value = load(i);
      sum += value * value;
    }
    sums[static_cast<std::size_t>(c)] = sum;
  }
  double total = 0.0;
  for (const double sum : sums) total += sum;
  return static_cast<float>(total);
}

}  // namespace

float sum_squares(const float* x, std::size_t n) {
  return sum_squares_chunked(n, [x](std::size_t i) { return static_cast<double>(x[i]); });
}

float sum_squares(const bf16* x, std::size_t n) {
  return sum_squares_chunked(
      n, [x](std::size_t i) { return static_cast<double>(bf16_to_float(x[i])); });
}

}  // namespace sombrero::kernels::cpu
