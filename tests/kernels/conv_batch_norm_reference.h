// References for backward-data fused with a BatchNorm's backward sums
// (conv2d_backward_data_with_batch_norm): the per-tile sums in double, and the agreement of
// two bf16 BatchNorm gradients computed from sums added in different orders.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/conv/conv2d_kernels.h"
#include "tests/support/test_values.h"

namespace sombrero::test {

// The tensors of a BatchNorm (+ ReLU) feeding a convolution: dy, w of the convolution; its
// input y = the ReLU's output (about half of it zero, some -0), the BatchNorm's input x, mean
// and invstd, gamma; dx's start when accumulating (the shortcut's gradient).
struct ConvBatchNormInputs {
  std::vector<bf16> dy, w, relu_output, bn_input, start;
  std::vector<float> mean, invstd, gamma;
};

inline ConvBatchNormInputs make_conv_batch_norm_inputs(const kernels::Conv2dShape& s,
                                                       unsigned seed) {
  ConvBatchNormInputs in;
  in.dy = to_bf16(random_values(s.output_elements(), seed));
  in.w = to_bf16(random_values(s.weight_elements(), seed + 1));
  std::vector<float> y = random_values(s.input_elements(), seed + 2);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = i % 7 == 3 ? -0.0f : std::max(y[i], 0.0f);
  in.relu_output = to_bf16(y);
  std::vector<float> x = random_values(s.input_elements(), seed + 3);
  for (float& v : x) v = 3.0f + 2.0f * v;
  in.bn_input = to_bf16(x);
  in.start = to_bf16(random_values(s.input_elements(), seed + 4));
  const int C = s.in_channels;
  in.mean = random_values(C, seed + 5);
  for (float& v : in.mean) v = 3.0f + 0.1f * v;
  in.invstd = random_values(C, seed + 6);
  for (float& v : in.invstd) v = 0.5f + 0.1f * std::abs(v);
  in.gamma = random_values(C, seed + 7);
  return in;
}

// g: dx masked where relu_output is not > 0 (as the kernels: -0 and 0 masked; no NaN here).
inline std::vector<float> masked_gradient(const std::vector<float>& dx,
                                          const std::vector<bf16>& relu_output) {
  std::vector<float> g = dx;
  const std::vector<float> y = to_float(relu_output);
  for (std::size_t i = 0; i < g.size(); ++i)
    if (!(y[i] > 0.0f)) g[i] = 0.0f;
  return g;
}

// The per-tile sums the epilogue must write, in double: partials[(2 t) C + c] = sum g,
// [(2 t + 1) C + c] = sum g (x - mean_c), over tiles of `rows` pixels of each stride phase's
// pixels (n, hi, wi) in order, phases (ph, pw) row-major. scale receives the sums of the
// terms' magnitudes (what f32 summation error is relative to).
inline std::vector<double> reference_partials(const kernels::Conv2dShape& s, int rows,
                                              std::int64_t tiles, const std::vector<float>& g,
                                              const std::vector<float>& x,
                                              const std::vector<float>& mean,
                                              std::vector<double>& scale) {
  const int C = s.in_channels;
  std::vector<double> partials(2 * std::size_t(tiles) * C, 0.0);
  scale.assign(partials.size(), 0.0);
  std::int64_t first_tile = 0;
  for (int ph = 0; ph < s.stride_h; ++ph)
    for (int pw = 0; pw < s.stride_w; ++pw) {
      std::int64_t m = 0;
      for (int n = 0; n < s.batch; ++n)
        for (int h = ph; h < s.in_height; h += s.stride_h)
          for (int w = pw; w < s.in_width; w += s.stride_w, ++m) {
            const std::int64_t tile = first_tile + m / rows;
            const std::size_t pixel = (std::size_t(n) * s.in_height + h) * s.in_width + w;
            for (int c = 0; c < C; ++c) {
              const double gv = g[pixel * C + c], term = gv * (double(x[pixel * C + c]) - mean[c]);
              partials[(2 * tile) * C + c] += gv;
              partials[(2 * tile + 1) * C + c] += term;
              scale[(2 * tile) * C + c] += std::abs(gv);
              scale[(2 * tile + 1) * C + c] += std::abs(term);
            }
          }
      first_tile += (m + rows - 1) / rows;
    }
  EXPECT_EQ(first_tile, tiles) << s.to_string();
  return partials;
}

// got within 1e-5 of want, relative to the summed magnitudes (f32 sums of at most 128 terms).
inline void expect_partials(const std::vector<float>& got, const std::vector<double>& want,
                            const std::vector<double>& scale, int channels,
                            const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int failures = 0;
  for (std::size_t j = 0; j < want.size(); ++j)
    if (!(std::abs(got[j] - want[j]) <= 1e-5 * scale[j] + 1e-6) && failures++ < 3)
      ADD_FAILURE() << what << " partial " << j << " (tile " << j / (2 * channels)
                    << ") = " << got[j] << ", want " << want[j];
}

// dgamma, dbeta from the epilogue's sums against the BatchNorm's own (both accumulated onto
// the same start): within 1e-5 of the summed magnitudes over all tiles (dgamma's scaled by
// invstd, as the kernel multiplies its sum by it).
inline void expect_parameter_gradients(const std::vector<float>& dgamma,
                                       const std::vector<float>& want_dgamma,
                                       const std::vector<float>& dbeta,
                                       const std::vector<float>& want_dbeta,
                                       const std::vector<double>& scale, std::int64_t tiles,
                                       const std::vector<float>& invstd, const std::string& what) {
  const std::size_t C = dgamma.size();
  for (std::size_t c = 0; c < C; ++c) {
    double beta_scale = 0.0, gamma_scale = 0.0;
    for (std::size_t t = 0; t < std::size_t(tiles); ++t) {
      beta_scale += scale[(2 * t) * C + c];
      gamma_scale += scale[(2 * t + 1) * C + c];
    }
    EXPECT_NEAR(dbeta[c], want_dbeta[c], 1e-5 * beta_scale + 1e-5) << what << " dbeta " << c;
    EXPECT_NEAR(dgamma[c], want_dgamma[c], 1e-5 * gamma_scale * invstd[c] + 1e-5)
        << what << " dgamma " << c;
  }
}

// 2^-7 of the larger magnitude (a bf16 unit in the last place, or two), and 1e-5 of the
// largest |want| for values that cancel (a g + b xhat + d near 0).
inline void expect_within_one_bf16_ulp(const std::vector<float>& got,
                                       const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  float largest = 0.0f;
  for (const float v : want) largest = std::max(largest, std::abs(v));
  int failures = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double ulp = std::ldexp(std::max(std::abs(got[i]), std::abs(want[i])), -7);
    if (!(std::abs(double(got[i]) - want[i]) <= ulp + 1e-5 * largest) && failures++ < 3)
      ADD_FAILURE() << what << " dx[" << i << "] = " << got[i] << ", unfused " << want[i];
  }
}

}  // namespace sombrero::test
