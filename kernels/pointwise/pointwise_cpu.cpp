// CPU backend of the elementwise layer operations (pointwise.h).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/pointwise/pointwise.h"

namespace sombrero::kernels::cpu {

void relu_forward(std::int64_t n, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinimum)
  for (std::int64_t i = 0; i < n; ++i)
    y[i] = x[i] < 0.0f ? 0.0f : x[i];  // NaN passes, as torch's ReLU
}

void relu_backward(std::int64_t n, const float* y, const float* dy, float* dx) {
  // On the bits, branch-free (a branch on the ~50% random sign pattern mispredicts half the
  // time and was 5x slower): an f32 is > 0 exactly when its bits, read as int32, are > 0
  // (+0 is 0, negatives have the sign bit); a NaN y with the sign bit clear passes dy.
  using Bits = std::int32_t __attribute__((may_alias));
  const auto* yb = reinterpret_cast<const Bits*>(y);
  const auto* gb = reinterpret_cast<const Bits*>(dy);
  auto* out = reinterpret_cast<Bits*>(dx);
#pragma omp parallel for schedule(static) if (n >= kParallelMinimum)
  for (std::int64_t i = 0; i < n; ++i) out[i] = gb[i] & -static_cast<std::int32_t>(yb[i] > 0);
}

void add(std::int64_t n, const float* a, const float* b, float* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinimum)
  for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void add_inplace(std::int64_t n, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinimum)
  for (std::int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void bias_add(std::int64_t rows, int channels, const float* bias, float* y) {
#pragma omp parallel for schedule(static) if (rows * channels >= kParallelMinimum)
  for (std::int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) y[r * channels + c] += bias[c];
}

void bias_backward(std::int64_t rows, int channels, const float* dy, float* dbias) {
  constexpr std::int64_t kChunks = 32;  // fixed: the sum does not depend on the thread count
  const std::int64_t chunk_rows = std::max<std::int64_t>(1, (rows + kChunks - 1) / kChunks);
  std::vector<double> partial(static_cast<std::size_t>(kChunks) * channels, 0.0);
#pragma omp parallel for schedule(static) if (rows * channels >= kParallelMinimum)
  for (std::int64_t k = 0; k < kChunks; ++k) {
    double* p = partial.data() + k * channels;
    const std::int64_t end = std::min(rows, (k + 1) * chunk_rows);
    for (std::int64_t r = k * chunk_rows; r < end; ++r)
      for (int c = 0; c < channels; ++c) p[c] += dy[r * channels + c];
  }
  for (int c = 0; c < channels; ++c) {
    double sum = 0.0;
    for (std::int64_t k = 0; k < kChunks; ++k)
      sum += partial[static_cast<std::size_t>(k * channels + c)];
    dbias[c] += static_cast<float>(sum);
  }
}

void channel_pad_subsample_forward(const ChannelPadShape& s, const float* x, float* y) {
  const std::int64_t oh = s.out_height(), ow = s.out_width(), pixels = s.batch * oh * ow;
  const int pad = s.pad();
#pragma omp parallel for schedule(static) if (s.output_elements() >= kParallelMinimum)
  for (std::int64_t p = 0; p < pixels; ++p) {
    const std::int64_t n = p / (oh * ow), h = p / ow % oh, w = p % ow;
    float* out = y + p * s.out_channels;
    std::fill(out, out + pad, 0.0f);
    std::memcpy(out + pad,
                x + ((n * s.in_height + h * s.stride) * s.in_width + w * s.stride) * s.in_channels,
                sizeof(float) * std::size_t(s.in_channels));
    std::fill(out + pad + s.in_channels, out + s.out_channels, 0.0f);
  }
}

void channel_pad_subsample_backward(const ChannelPadShape& s, const float* dy, float* dx) {
  const std::int64_t oh = s.out_height(), ow = s.out_width(), pixels = s.batch * oh * ow;
  std::fill(dx, dx + s.input_elements(), 0.0f);
#pragma omp parallel for schedule(static) if (s.output_elements() >= kParallelMinimum)
  for (std::int64_t p = 0; p < pixels; ++p) {
    const std::int64_t n = p / (oh * ow), h = p / ow % oh, w = p % ow;
    std::memcpy(dx + ((n * s.in_height + h * s.stride) * s.in_width + w * s.stride) * s.in_channels,
                dy + p * s.out_channels + s.pad(), sizeof(float) * std::size_t(s.in_channels));
  }
}

}  // namespace sombrero::kernels::cpu
