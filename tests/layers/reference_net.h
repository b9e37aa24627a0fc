// Naive double-precision references of the layers, straight from their definitions (PyTorch's
// semantics), independent of kernels/ and layers/: NHWC tensors as shape + values. Tests
// compare the layers' f32 forward with these and their backward with central finite
// differences of these.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "kernels/conv/conv2d_shape.h"
#include "tests/kernels/conv_reference.h"

namespace sombrero::test {

struct DTensor {
  std::vector<std::int64_t> shape;
  std::vector<double> v;
  std::int64_t dim(int i) const { return shape[std::size_t(i)]; }
};

using Params = std::map<std::string, std::vector<double>>;

inline DTensor ref_conv(const DTensor& x, const std::vector<double>& w_krsc, int out_channels,
                        int kernel, int stride, int pad,
                        const std::vector<double>* bias = nullptr) {
  kernels::Conv2dShape s;
  s.batch = int(x.dim(0));
  s.in_height = int(x.dim(1));
  s.in_width = int(x.dim(2));
  s.in_channels = int(x.dim(3));
  s.out_channels = out_channels;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = pad;
  DTensor y{{s.batch, s.out_height(), s.out_width(), out_channels},
            reference_conv_forward(s, x.v, w_krsc)};
  if (bias != nullptr)
    for (std::size_t i = 0; i < y.v.size(); ++i) y.v[i] += (*bias)[i % std::size_t(out_channels)];
  return y;
}

// Training-mode BatchNorm: batch mean and biased variance per channel.
inline DTensor ref_bn_train(const DTensor& x, const std::vector<double>& gamma,
                            const std::vector<double>& beta, double eps = 1e-5) {
  const std::size_t C = std::size_t(x.shape.back()), rows = x.v.size() / C;
  DTensor y = x;
  for (std::size_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    for (std::size_t r = 0; r < rows; ++r) mean += x.v[r * C + c];
    mean /= double(rows);
    for (std::size_t r = 0; r < rows; ++r) var += (x.v[r * C + c] - mean) * (x.v[r * C + c] - mean);
    var /= double(rows);
    for (std::size_t r = 0; r < rows; ++r)
      y.v[r * C + c] = (x.v[r * C + c] - mean) / std::sqrt(var + eps) * gamma[c] + beta[c];
  }
  return y;
}

inline DTensor ref_relu(DTensor x) {
  for (double& a : x.v) a = a > 0 ? a : 0;
  return x;
}

inline DTensor ref_add(DTensor a, const DTensor& b) {
  for (std::size_t i = 0; i < a.v.size(); ++i) a.v[i] += b.v[i];
  return a;
}

// Max (max = true, padding never chosen) or average (count_include_pad) pooling.
inline DTensor ref_pool(const DTensor& x, int kernel, int stride, int pad, bool max) {
  const std::int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const std::int64_t OH = (H + 2 * pad - kernel) / stride + 1,
                     OW = (W + 2 * pad - kernel) / stride + 1;
  DTensor y{{N, OH, OW, C}, std::vector<double>(std::size_t(N * OH * OW * C))};
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t oh = 0; oh < OH; ++oh)
      for (std::int64_t ow = 0; ow < OW; ++ow)
        for (std::int64_t c = 0; c < C; ++c) {
          double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
          for (int r = 0; r < kernel; ++r)
            for (int t = 0; t < kernel; ++t) {
              const std::int64_t ih = oh * stride - pad + r, iw = ow * stride - pad + t;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const double a = x.v[std::size_t(((n * H + ih) * W + iw) * C + c)];
              acc = max ? std::max(acc, a) : acc + a;
            }
          y.v[std::size_t(((n * OH + oh) * OW + ow) * C + c)] = max ? acc : acc / (kernel * kernel);
        }
  return y;
}

inline DTensor ref_global_avg_pool(const DTensor& x) {
  const std::int64_t N = x.dim(0), P = x.dim(1) * x.dim(2), C = x.dim(3);
  DTensor y{{N, C}, std::vector<double>(std::size_t(N * C), 0.0)};
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t p = 0; p < P; ++p)
      for (std::int64_t c = 0; c < C; ++c)
        y.v[std::size_t(n * C + c)] += x.v[std::size_t((n * P + p) * C + c)] / double(P);
  return y;
}

// y [N, out] = x [N, in] W^T + b, W [out, in].
inline DTensor ref_linear(const DTensor& x, const std::vector<double>& w,
                          const std::vector<double>* bias, int out) {
  const std::int64_t N = x.dim(0), in = std::int64_t(x.v.size()) / N;
  DTensor y{{N, out}, std::vector<double>(std::size_t(N * out), 0.0)};
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < out; ++o) {
      double acc = bias != nullptr ? (*bias)[std::size_t(o)] : 0.0;
      for (std::int64_t i = 0; i < in; ++i)
        acc += x.v[std::size_t(n * in + i)] * w[std::size_t(o * in + i)];
      y.v[std::size_t(n * out + o)] = acc;
    }
  return y;
}

// Option A shortcut: x[:, ::stride, ::stride] with (out - in) / 2 zero channels on each side.
inline DTensor ref_shortcut_a(const DTensor& x, int out_channels, int stride) {
  const std::int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const std::int64_t OH = (H + stride - 1) / stride, OW = (W + stride - 1) / stride;
  const std::int64_t pad = (out_channels - C) / 2;
  DTensor y{{N, OH, OW, out_channels},
            std::vector<double>(std::size_t(N * OH * OW * out_channels))};
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t h = 0; h < OH; ++h)
      for (std::int64_t w = 0; w < OW; ++w)
        for (std::int64_t c = 0; c < C; ++c)
          y.v[std::size_t(((n * OH + h) * OW + w) * out_channels + pad + c)] =
              x.v[std::size_t(((n * H + h * stride) * W + w * stride) * C + c)];
  return y;
}

// torchvision's BasicBlock / Bottleneck (training-mode BN), parameters named as the layers
// name them below `prefix` ("layer1.0."). shortcut: 'I' identity, 'A', or 'B' (downsample).
inline DTensor ref_basic_block(const DTensor& x, const Params& p, const std::string& prefix,
                               int planes, int stride, char shortcut) {
  auto P = [&](const std::string& name) -> const std::vector<double>& {
    return p.at(prefix + name);
  };
  DTensor y = ref_relu(ref_bn_train(ref_conv(x, P("conv1.weight"), planes, 3, stride, 1),
                                    P("bn1.weight"), P("bn1.bias")));
  y = ref_bn_train(ref_conv(y, P("conv2.weight"), planes, 3, 1, 1), P("bn2.weight"), P("bn2.bias"));
  DTensor identity = x;
  if (shortcut == 'A') identity = ref_shortcut_a(x, planes, stride);
  if (shortcut == 'B')
    identity = ref_bn_train(ref_conv(x, P("downsample.0.weight"), planes, 1, stride, 0),
                            P("downsample.1.weight"), P("downsample.1.bias"));
  return ref_relu(ref_add(y, identity));
}

inline DTensor ref_bottleneck(const DTensor& x, const Params& p, const std::string& prefix,
                              int planes, int stride, bool downsample) {
  auto P = [&](const std::string& name) -> const std::vector<double>& {
    return p.at(prefix + name);
  };
  DTensor y = ref_relu(ref_bn_train(ref_conv(x, P("conv1.weight"), planes, 1, 1, 0),
                                    P("bn1.weight"), P("bn1.bias")));
  y = ref_relu(ref_bn_train(ref_conv(y, P("conv2.weight"), planes, 3, stride, 1), P("bn2.weight"),
                            P("bn2.bias")));
  y = ref_bn_train(ref_conv(y, P("conv3.weight"), planes * 4, 1, 1, 0), P("bn3.weight"),
                   P("bn3.bias"));
  DTensor identity = x;
  if (downsample)
    identity = ref_bn_train(ref_conv(x, P("downsample.0.weight"), planes * 4, 1, stride, 0),
                            P("downsample.1.weight"), P("downsample.1.bias"));
  return ref_relu(ref_add(y, identity));
}

}  // namespace sombrero::test
