// CPU backend of BatchNorm (math in batch_norm.h). Three passes in training forward (sum,
// centred sum of squares, normalise) and two in backward (the two sums, then dx).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/norm/batch_norm.h"
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

// y[r,c] = x[r,c] * scale[c] + shift[c].
void affine(const BatchNormShape& s, const float* x, const float* scale, const float* shift,
            float* y) {
  const int C = s.channels;
#pragma omp parallel for schedule(static) if (s.rows * C >= kParallelMinimum)
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (int c = 0; c < C; ++c) y[r * C + c] = x[r * C + c] * scale[c] + shift[c];
}

void check(const BatchNormShape& s) {
  SOMBRERO_CHECK(s.rows > 0 && s.channels > 0, "batch_norm: empty shape rows=", s.rows,
                 " channels=", s.channels);
}

}  // namespace

void batch_norm_forward_training(const BatchNormShape& s, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* y,
                                 float* running_mean, float* running_var, float* save_mean,
                                 float* save_invstd) {
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
  affine(s, x, scale.data(), shift.data(), y);
}

void batch_norm_forward_inference(const BatchNormShape& s, const float* x, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float eps, float* y) {
  check(s);
  const int C = s.channels;
  std::vector<float> scale(C), shift(C);
  for (int c = 0; c < C; ++c) {
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    scale[c] = static_cast<float>(gamma[c] * invstd);
    shift[c] = static_cast<float>(beta[c] - running_mean[c] * gamma[c] * invstd);
  }
  affine(s, x, scale.data(), shift.data(), y);
}

void batch_norm_backward_training(const BatchNormShape& s, const float* x, const float* dy,
                                  const float* gamma, const float* save_mean,
                                  const float* save_invstd, float* dx, float* dgamma,
                                  float* dbeta) {
  check(s);
  const int C = s.channels;
  const double M = static_cast<double>(s.rows);
  std::vector<double> sum_dy(C), sum_dy_xhat(C);
  channel_sums(
      s, [dy](std::int64_t i, int) { return static_cast<double>(dy[i]); }, sum_dy.data());
  channel_sums(
      s,
      [x, dy, save_mean, save_invstd](std::int64_t i, int c) {
        return static_cast<double>(dy[i]) * (static_cast<double>(x[i]) - save_mean[c]) *
               save_invstd[c];
      },
      sum_dy_xhat.data());
  // dx = a_c dy + b_c xhat + d_c, with xhat = (x - mean) invstd.
  std::vector<float> a(C), b(C), d(C);
  for (int c = 0; c < C; ++c) {
    const double k = gamma[c] * static_cast<double>(save_invstd[c]);
    a[c] = static_cast<float>(k);
    b[c] = static_cast<float>(-k * sum_dy_xhat[c] / M);
    d[c] = static_cast<float>(-k * sum_dy[c] / M);
    dgamma[c] += static_cast<float>(sum_dy_xhat[c]);
    dbeta[c] += static_cast<float>(sum_dy[c]);
  }
#pragma omp parallel for schedule(static) if (s.rows * C >= kParallelMinimum)
  for (std::int64_t r = 0; r < s.rows; ++r)
    for (int c = 0; c < C; ++c) {
      const std::int64_t i = r * C + c;
      const float xhat = (x[i] - save_mean[c]) * save_invstd[c];
      dx[i] = a[c] * dy[i] + b[c] * xhat + d[c];
    }
}

}  // namespace sombrero::kernels::cpu
