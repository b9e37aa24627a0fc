// CPU backend of pooling (pool.h).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/pool/pool.h"
#include "runtime/error.h"

namespace sombrero::kernels {

void check_pool2d_shape(const Pool2dShape& s) {
  SOMBRERO_CHECK(s.batch > 0 && s.in_height > 0 && s.in_width > 0 && s.channels > 0 &&
                     s.kernel_h > 0 && s.kernel_w > 0 && s.stride_h > 0 && s.stride_w > 0,
                 "pool2d: sizes, kernel and stride must be positive");
  SOMBRERO_CHECK(
      s.pad_h >= 0 && s.pad_w >= 0 && 2 * s.pad_h <= s.kernel_h && 2 * s.pad_w <= s.kernel_w,
      "pool2d: padding (", s.pad_h, ", ", s.pad_w, ") must be at most half the kernel (",
      s.kernel_h, "x", s.kernel_w, ")");
  SOMBRERO_CHECK(s.out_height() > 0 && s.out_width() > 0, "pool2d: input ", s.in_height, "x",
                 s.in_width, " is smaller than the kernel ", s.kernel_h, "x", s.kernel_w);
}

void check_max_pool2d_shape(const Pool2dShape& s) {
  check_pool2d_shape(s);
  SOMBRERO_CHECK(s.kernel_h * s.kernel_w <= kMaxPoolTaps, "max pool2d: a ", s.kernel_h, "x",
                 s.kernel_w, " window has more than ", kMaxPoolTaps,
                 " taps, which its one-byte argmax cannot name");
}

namespace cpu {

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, PoolArgmax* argmax) {
  check_max_pool2d_shape(s);
  const int OH = s.out_height(), OW = s.out_width(), C = s.channels;
#pragma omp parallel for schedule( \
    static) if (std::int64_t(s.batch) * s.in_height * s.in_width * C >= kParallelMinimum)
  for (int n = 0; n < s.batch; ++n) {
    const float* xn = x + std::int64_t(n) * s.in_height * s.in_width * C;
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        const std::int64_t out = ((std::int64_t(n) * OH + oh) * OW + ow) * C;
        float* yo = y + out;
        PoolArgmax* ao = argmax + out;
        bool first = true;  // the window's first tap inside the input: taken whatever its value
        for (int r = 0; r < s.kernel_h; ++r) {
          const int ih = oh * s.stride_h - s.pad_h + r;
          if (ih < 0 || ih >= s.in_height) continue;
          for (int t = 0; t < s.kernel_w; ++t) {
            const int iw = ow * s.stride_w - s.pad_w + t;
            if (iw < 0 || iw >= s.in_width) continue;
            const float* xp = xn + (std::int64_t(ih) * s.in_width + iw) * C;
            const auto tap = static_cast<PoolArgmax>(r * s.kernel_w + t);
            for (int c = 0; c < C; ++c)
              if (first || xp[c] > yo[c]) {  // the first maximum wins, as PyTorch
                yo[c] = xp[c];
                ao[c] = tap;
              }
            first = false;
          }
        }
      }
  }
}

void max_pool2d_backward(const Pool2dShape& s, const float* dy, const PoolArgmax* argmax,
                         float* dx) {
  check_max_pool2d_shape(s);
  const int OH = s.out_height(), OW = s.out_width(), C = s.channels;
  const std::int64_t image = std::int64_t(s.in_height) * s.in_width * C;
  // Tap r kernel_w + t lies r in_width + t pixels past its window's corner pixel, whatever
  // the window: one table instead of a division per element.
  std::vector<std::int64_t> tap_pixels(std::size_t(s.kernel_h) * s.kernel_w);
  for (int r = 0; r < s.kernel_h; ++r)
    for (int t = 0; t < s.kernel_w; ++t)
      tap_pixels[std::size_t(r) * s.kernel_w + t] = std::int64_t(r) * s.in_width + t;
#pragma omp parallel for schedule( \
    static) if (std::int64_t(s.batch) * s.in_height * s.in_width * C >= kParallelMinimum)
  for (int n = 0; n < s.batch; ++n) {
    float* dxn = dx + n * image;
    std::memset(dxn, 0, sizeof(float) * image);
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        const std::int64_t out = ((std::int64_t(n) * OH + oh) * OW + ow) * C;
        // The window's corner pixel (padding counted: may lie outside the input, but every
        // tap the argmax names is inside).
        const std::int64_t corner =
            std::int64_t(oh * s.stride_h - s.pad_h) * s.in_width + (ow * s.stride_w - s.pad_w);
        for (int c = 0; c < C; ++c)
          dxn[(corner + tap_pixels[argmax[out + c]]) * C + c] += dy[out + c];
      }
  }
}

void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  const int OH = s.out_height(), OW = s.out_width(), C = s.channels;
  const float inv = 1.0f / float(s.kernel_h * s.kernel_w);
#pragma omp parallel for schedule( \
    static) if (std::int64_t(s.batch) * s.in_height * s.in_width * C >= kParallelMinimum)
  for (int n = 0; n < s.batch; ++n) {
    const float* xn = x + std::int64_t(n) * s.in_height * s.in_width * C;
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        float* yo = y + ((std::int64_t(n) * OH + oh) * OW + ow) * C;
        std::fill(yo, yo + C, 0.0f);
        for (int r = 0; r < s.kernel_h; ++r) {
          const int ih = oh * s.stride_h - s.pad_h + r;
          if (ih < 0 || ih >= s.in_height) continue;
          for (int t = 0; t < s.kernel_w; ++t) {
            const int iw = ow * s.stride_w - s.pad_w + t;
            if (iw < 0 || iw >= s.in_width) continue;
            const float* xp = xn + (std::int64_t(ih) * s.in_width + iw) * C;
            for (int c = 0; c < C; ++c) yo[c] += xp[c];
          }
        }
        for (int c = 0; c < C; ++c) yo[c] *= inv;
      }
  }
}

void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx) {
  const int OH = s.out_height(), OW = s.out_width(), C = s.channels;
  const float inv = 1.0f / float(s.kernel_h * s.kernel_w);
  const std::int64_t image = std::int64_t(s.in_height) * s.in_width * C;
#pragma omp parallel for schedule( \
    static) if (std::int64_t(s.batch) * s.in_height * s.in_width * C >= kParallelMinimum)
  for (int n = 0; n < s.batch; ++n) {
    float* dxn = dx + n * image;
    std::memset(dxn, 0, sizeof(float) * image);
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        const float* g = dy + ((std::int64_t(n) * OH + oh) * OW + ow) * C;
        for (int r = 0; r < s.kernel_h; ++r) {
          const int ih = oh * s.stride_h - s.pad_h + r;
          if (ih < 0 || ih >= s.in_height) continue;
          for (int t = 0; t < s.kernel_w; ++t) {
            const int iw = ow * s.stride_w - s.pad_w + t;
            if (iw < 0 || iw >= s.in_width) continue;
            float* d = dxn + (std::int64_t(ih) * s.in_width + iw) * C;
            for (int c = 0; c < C; ++c) d[c] += g[c] * inv;
          }
        }
      }
  }
}

void global_avg_pool_forward(int batch, int pixels, int channels, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (std::int64_t(batch) * pixels * channels >= \
                                              kParallelMinimum)
  for (int n = 0; n < batch; ++n) {
    float* yn = y + std::int64_t(n) * channels;
    std::fill(yn, yn + channels, 0.0f);
    const float* xn = x + std::int64_t(n) * pixels * channels;
    for (int p = 0; p < pixels; ++p)
      for (int c = 0; c < channels; ++c) yn[c] += xn[std::int64_t(p) * channels + c];
    for (int c = 0; c < channels; ++c) yn[c] /= float(pixels);
  }
}

void global_avg_pool_backward(int batch, int pixels, int channels, const float* dy, float* dx) {
#pragma omp parallel for schedule(static) if (std::int64_t(batch) * pixels * channels >= \
                                              kParallelMinimum)
  for (int n = 0; n < batch; ++n) {
    const float* g = dy + std::int64_t(n) * channels;
    float* dxn = dx + std::int64_t(n) * pixels * channels;
    for (int p = 0; p < pixels; ++p)
      for (int c = 0; c < channels; ++c) dxn[std::int64_t(p) * channels + c] = g[c] / float(pixels);
  }
}

}  // namespace cpu
}  // namespace sombrero::kernels
