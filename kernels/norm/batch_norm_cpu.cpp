// CPU backend of BatchNorm (math in batch_norm.h). Three passes in training forward (sum,
// centred sum of squares, normalise) and two in backward (both sums in one, then dx).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/norm/batch_norm.h"
#include "kernels/pointwise/pointwise.h"
#include "runtime/error.h"

namespace sombrero::kernels::cpu {
namespace {

constexpr std::int64_t kChunks = 64;  // fixed: the result does not depend on thread count

// sums[c] = sum_r f(r, c) in double, for each channel; f gets the row pointer offset.
template <typename Term>
void channel_sums(const BatchNormShape& s, Term term, double* sums) {
  const int C = s.channels;
  const std::int64_t chunk_rows = std::max<std::int64_t>(1, (s.rows + kChunks - 1) / kChunks);
  std::vector<double> partial(static_cast<std::size_t>(kChunks) * C, 0.0);
#pragma omp parallel for schedule(static) if (s.rows * C >= kParallelMinimum)
  for (std::int64_t k = 0; k < kChunks; ++k) {
    double* p = partial.data() + k * C;
    const std::int64_t end = std::min(s.rows, (k + 1) * chunk_rows);
    for (std::int64_t r = k * chunk_rows; r < end; ++r)
      for (int c = 0; c < C; ++c) p[c] += term(r * C + c, c);
  }
  std::fill(sums, sums + C, 0.0);
  for (std::int64_t k = 0; k < kChunks; ++k)
    for (int c = 0; c < C; ++c) sums[c] += partial[static_cast<std::size_t>(k * C + c)];
}

// y[r,c] = x[r,c] * scale[c] + shift[c], then max(y, 0) when relu.
void affine(const BatchNormShape& s, const float* x, const float* scale, const float* shift,
            float* y, bool relu) {
  const int C = s.channels;
#pragma omp parallel for schedule(static) if (s.rows * C >= kParallelMinimum)
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (int c = 0; c < C; ++c) {
      const float v = x[r * C + c] * scale[c] + shift[c];
      y[r * C + c] = relu && v < 0.0f ? 0.0f : v;  // NaN passes, as torch's ReLU
    }
}

void check(const BatchNormShape& s) {
  SOMBRERO_CHECK(s.rows > 0 && s.channels > 0, "batch_norm: empty shape rows=", s.rows,
                 " channels=", s.channels);
}

}  // namespace

void batch_norm_forward_training(const BatchNormShape& s, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* y,
                                 float* running_mean, float* running_var, float* save_mean,
                                 float* save_invstd, bool relu) {
  check(s);
  const int C = s.channels;
  const double M = static_cast<double>(s.rows);
  std::vector<double> mean(C), var(C);
  channel_sums(
      s, [x](std::int64_t i, int) { return static_cast<double>(x[i]); }, mean.data());
  for (double& m : mean) m /= M;
  channel_sums(
      s,
      [x, &mean](std::int64_t i, int c) {
        const double d = x[i] - mean[static_cast<std::size_t>(c)];
        return d * d;
      },
      var.data());
  for (double& v : var) v /= M;
  std::vector<float> scale(C), shift(C);
  for (int c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt(var[c] + eps);
    save_mean[c] = static_cast<float>(mean[c]);
    save_invstd[c] = static_cast<float>(invstd);
    scale[c] = static_cast<float>(gamma[c] * invstd);
    shift[c] = static_cast<float>(beta[c] - mean[c] * gamma[c] * invstd);
    if (running_mean != nullptr)
      running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mean[c]);
    if (running_var != nullptr) {
      const double unbiased = s.rows > 1 ? var[c] * M / (M - 1.0) : var[c];
      running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
  }
  affine(s, x, scale.data(), shift.data(), y, relu);
}

void batch_norm_forward_inference(const BatchNormShape& s, const float* x, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float eps, float* y, bool relu) {
  check(s);
  const int C = s.channels;
  std::vector<float> scale(C), shift(C);
  for (int c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    scale[c] = static_cast<float>(gamma[c] * invstd);
    shift[c] = static_cast<float>(beta[c] - running_mean[c] * gamma[c] * invstd);
  }
  affine(s, x, scale.data(), shift.data(), y, relu);
}

namespace {

// out = dy where y > 0, else 0 (kernels/pointwise/pointwise.h, relu_backward).
void relu_mask(std::int64_t n, const float* y, const float* dy, float* out) {
  relu_backward(n, y, dy, out);
}

// Backward in two passes: one for the sums (sum dy and sum dy x, in double per chunk, so
// sum dy xhat = invstd (sum dy x - mean sum dy)), one for dx. dy may alias dx.
void backward_impl(const BatchNormShape& s, const float* x, const float* dy, const float* gamma,
                   const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                   float* dbeta) {
  const int C = s.channels;
  const double M = static_cast<double>(s.rows);
  const std::int64_t chunk_rows = std::max<std::int64_t>(1, (s.rows + kChunks - 1) / kChunks);
  std::vector<double> partial(static_cast<std::size_t>(kChunks) * 2 * C, 0.0);
#pragma omp parallel for schedule(static) if (s.rows * C >= kParallelMinimum)
  for (std::int64_t k = 0; k < kChunks; ++k) {
    double* p_dy = partial.data() + k * 2 * C;
    double* p_dyx = p_dy + C;
    const std::int64_t end = std::min(s.rows, (k + 1) * chunk_rows);
    for (std::int64_t r = k * chunk_rows; r < end; ++r)
      for (int c = 0; c < C; ++c) {
        const double g = dy[r * C + c];
        p_dy[c] += g;
        p_dyx[c] += g * x[r * C + c];
      }
  }
  std::vector<float> a(C), b(C), d(C);
  for (int c = 0; c < C; ++c) {
    double sum_dy = 0, sum_dyx = 0;
    for (std::int64_t k = 0; k < kChunks; ++k) {
      sum_dy += partial[static_cast<std::size_t>(k * 2 * C + c)];
      sum_dyx += partial[static_cast<std::size_t>(k * 2 * C + C + c)];
    }
    const double sum_dy_xhat = save_invstd[c] * (sum_dyx - save_mean[c] * sum_dy);
    // dx = a_c dy + b_c xhat + d_c, with xhat = (x - mean) invstd.
    const double k = gamma[c] * static_cast<double>(save_invstd[c]);
    a[c] = static_cast<float>(k);
    b[c] = static_cast<float>(-k * sum_dy_xhat / M);
    d[c] = static_cast<float>(-k * sum_dy / M);
    dgamma[c] += static_cast<float>(sum_dy_xhat);
    dbeta[c] += static_cast<float>(sum_dy);
  }
#pragma omp parallel for schedule(static) if (s.rows * C >= kParallelMinimum)
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (int c = 0; c < C; ++c) {
      const std::int64_t i = r * C + c;
      const float xhat = (x[i] - save_mean[c]) * save_invstd[c];
      dx[i] = a[c] * dy[i] + b[c] * xhat + d[c];
    }
}

}  // namespace

void batch_norm_backward_training(const BatchNormShape& s, const float* x, const float* dy,
                                  const float* gamma, const float* save_mean,
                                  const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                                  const float* relu_output, float* masked_gradient) {
  check(s);
  SOMBRERO_CHECK(masked_gradient == nullptr || relu_output != nullptr,
                 "batch_norm_backward_training: a masked gradient needs the ReLU's output");
  if (relu_output == nullptr) {
    backward_impl(s, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
    return;
  }
  // The ReLU's mask, written into masked_gradient, or else into dx first (backward_impl reads
  // each element of its dy before writing the same element of dx, so the two may alias).
  float* g = masked_gradient != nullptr ? masked_gradient : dx;
  relu_mask(s.rows * s.channels, relu_output, dy, g);
  backward_impl(s, x, g, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

}  // namespace sombrero::kernels::cpu
