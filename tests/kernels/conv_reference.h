// Naive convolution in double, straight from the definition, for tests:
//   y[n,oh,ow,k] = sum_{r,s,c} x[n, oh*sh - pt + r*dh, ow*sw - pl + s*dw, c] * w[k,r,s,c]
// (terms outside the input are zero). Backward passes are the same sum read the other way.
#pragma once

#include <algorithm>
#include <vector>

#include "kernels/conv/conv2d_shape.h"

namespace sombrero::test {

// Calls f(x0, w0, y0) for every (output element, kernel tap) whose input lies inside the
// image: x0 and w0 index channel 0 of the input pixel and of the tap, y0 the output element.
template <typename F>
void for_each_conv_term(const kernels::Conv2dShape& s, F f) {
  const int OH = s.out_height(), OW = s.out_width();
  for (int n = 0; n < s.batch; ++n)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow)
        for (int k = 0; k < s.out_channels; ++k)
          for (int r = 0; r < s.kernel_h; ++r) {
            const int ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
            if (ih < 0 || ih >= s.in_height) continue;
            for (int t = 0; t < s.kernel_w; ++t) {
              const int iw = ow * s.stride_w - s.pad_left + t * s.dilation_w;
              if (iw < 0 || iw >= s.in_width) continue;
              const std::size_t x0 =
                  ((std::size_t(n) * s.in_height + ih) * s.in_width + iw) * s.in_channels;
              const std::size_t w0 =
                  ((std::size_t(k) * s.kernel_h + r) * s.kernel_w + t) * s.in_channels;
              const std::size_t y0 = ((std::size_t(n) * OH + oh) * OW + ow) * s.out_channels + k;
              f(x0, w0, y0);
            }
          }
}

template <typename T>
std::vector<double> reference_conv_forward(const kernels::Conv2dShape& s, const std::vector<T>& x,
                                           const std::vector<T>& w) {
  std::vector<double> y(s.output_elements(), 0.0);
  for_each_conv_term(s, [&](std::size_t x0, std::size_t w0, std::size_t y0) {
    for (int c = 0; c < s.in_channels; ++c) y[y0] += double(x[x0 + c]) * double(w[w0 + c]);
  });
  return y;
}

template <typename T>
std::vector<double> reference_conv_backward_data(const kernels::Conv2dShape& s,
                                                 const std::vector<T>& dy,
                                                 const std::vector<T>& w) {
  std::vector<double> dx(s.input_elements(), 0.0);
  for_each_conv_term(s, [&](std::size_t x0, std::size_t w0, std::size_t y0) {
    for (int c = 0; c < s.in_channels; ++c) dx[x0 + c] += double(dy[y0]) * double(w[w0 + c]);
  });
  return dx;
}

template <typename T>
std::vector<double> reference_conv_backward_filter(const kernels::Conv2dShape& s,
                                                   const std::vector<T>& x,
                                                   const std::vector<T>& dy) {
  std::vector<double> dw(s.weight_elements(), 0.0);
  for_each_conv_term(s, [&](std::size_t x0, std::size_t w0, std::size_t y0) {
    for (int c = 0; c < s.in_channels; ++c) dw[w0 + c] += double(dy[y0]) * double(x[x0 + c]);
  });
  return dw;
}

// N x hw x hw x c -> k channels, a square kernel with stride `stride` and "same" padding
// (kernel / 2 on every side).
inline kernels::Conv2dShape square_conv(int n, int hw, int c, int k, int kernel, int stride) {
  kernels::Conv2dShape s;
  s.batch = n;
  s.in_height = s.in_width = hw;
  s.in_channels = c;
  s.out_channels = k;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = kernel / 2;
  return s;
}

// The edge cases every convolution implementation is tested on (small enough for SIMT):
// C = 1 and 3, C not a multiple of 8, stride 2 with odd sizes, 1x1 and 7x7, asymmetric
// padding, dilation 2, non-square inputs and kernels.
inline std::vector<kernels::Conv2dShape> conv_edge_cases() {
  auto make = [](int n, int h, int w, int c, int k, int r, int s, int stride, int pt, int pb,
                 int pl, int pr, int dilation = 1) {
    kernels::Conv2dShape shape;
    shape.batch = n;
    shape.in_height = h;
    shape.in_width = w;
    shape.in_channels = c;
    shape.out_channels = k;
    shape.kernel_h = r;
    shape.kernel_w = s;
    shape.stride_h = shape.stride_w = stride;
    shape.pad_top = pt;
    shape.pad_bottom = pb;
    shape.pad_left = pl;
    shape.pad_right = pr;
    shape.dilation_h = shape.dilation_w = dilation;
    return shape;
  };
  return {
      make(2, 9, 9, 3, 8, 3, 3, 1, 1, 1, 1, 1),     // RGB input, same padding
      make(1, 7, 9, 1, 5, 3, 3, 2, 1, 1, 1, 1),     // C = 1, stride 2, odd sizes
      make(2, 9, 7, 13, 17, 1, 1, 1, 0, 0, 0, 0),   // 1x1, odd C and K
      make(1, 9, 9, 8, 16, 1, 1, 2, 0, 0, 0, 0),    // 1x1 stride 2 (downsample)
      make(2, 9, 9, 3, 6, 7, 7, 2, 3, 3, 3, 3),     // 7x7 stride 2 (stem)
      make(1, 8, 8, 40, 40, 3, 3, 1, 1, 1, 1, 1),   // C, K = 40 (multiple of 8)
      make(2, 5, 6, 12, 7, 3, 3, 2, 0, 1, 1, 0),    // asymmetric padding
      make(1, 9, 9, 9, 11, 5, 5, 1, 2, 2, 2, 2),    // 5x5
      make(1, 9, 8, 4, 3, 3, 2, 1, 0, 0, 1, 0),     // non-square kernel
      make(1, 9, 9, 6, 5, 3, 3, 1, 2, 2, 2, 2, 2),  // dilation 2
      make(2, 3, 3, 33, 35, 3, 3, 1, 1, 1, 1, 1),   // tiny spatial, many channels
  };
}

// The BatchNorm statistics the forward's epilogue writes (conv2d_forward_with_statistics),
// from the stored output y [pixels, K], in double: for row tile t of tile_rows pixels,
// [2 t][k] the sum and [2 t + 1][k] the centred sum of squares of y[., k].
inline std::vector<double> tile_statistics(const std::vector<float>& y, int pixels, int K,
                                           int tile_rows) {
  const int tiles = (pixels + tile_rows - 1) / tile_rows;
  std::vector<double> out(std::size_t(2) * tiles * K);
  for (int t = 0; t < tiles; ++t) {
    const int first = t * tile_rows, count = std::min(tile_rows, pixels - first);
    for (int k = 0; k < K; ++k) {
      double sum = 0, squares = 0;
      for (int m = first; m < first + count; ++m) sum += y[std::size_t(m) * K + k];
      for (int m = first; m < first + count; ++m) {
        const double d = y[std::size_t(m) * K + k] - sum / count;
        squares += d * d;
      }
      out[std::size_t(2 * t) * K + k] = sum;
      out[std::size_t(2 * t + 1) * K + k] = squares;
    }
  }
  return out;
}

}  // namespace sombrero::test
