// Naive double-precision reference of the energy and the one-hot + U(1) loss, written from
// the definitions in docs/u1.md and independently of kernels/: complex arithmetic, no
// shortcuts, forward only (gradients come from finite differences of this).
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

namespace sombrero::test {

struct U1Problem {
  int batch, classes, height, width, channels;
  double weight, eps, smoothing;
  int space;                       // 0 image, 1 feature, 2 joint
  std::vector<double> logits;      // [batch, classes]
  std::vector<int> labels;         // [batch]
  std::vector<double> activation;  // [batch, height, width, channels]
  std::vector<double> angles;      // [classes]

  double a(int b, int h, int w, int n) const {
    return activation[((std::size_t(b) * height + h) * width + w) * channels + n];
  }
};

inline std::complex<double> reference_z(const U1Problem& p, int b) {
  const int H = p.height, W = p.width, N = p.channels;
  std::complex<double> moment_img = 0, moment_feat = 0;
  double total_energy = 0, total_activation = 0;
  for (int h = 0; h < H; ++h)
    for (int w = 0; w < W; ++w) {
      double energy = 0;
      for (int n = 0; n < N; ++n) energy += p.a(b, h, w, n) * p.a(b, h, w, n);
      const double x = (2.0 * w - (W - 1)) / std::max(W - 1, 1);
      const double y = ((H - 1) - 2.0 * h) / std::max(H - 1, 1);
      moment_img += energy * std::complex<double>(x, y);
      total_energy += energy;
      for (int n = 0; n < N; ++n) {
        moment_feat += p.a(b, h, w, n) * std::polar(1.0, 2.0 * std::numbers::pi * n / N);
        total_activation += p.a(b, h, w, n);
      }
    }
  const std::complex<double> z_img =
      moment_img / (std::numbers::sqrt2 * (total_energy + p.eps * H * W));
  const std::complex<double> z_feat = moment_feat / (total_activation + p.eps * H * W * N);
  return p.space == 0 ? z_img : p.space == 1 ? z_feat : (z_img + z_feat) / 2.0;
}

struct U1Reference {
  double loss, ce, u1;
};

inline U1Reference reference_loss(const U1Problem& p) {
  U1Reference r{0, 0, 0};
  for (int b = 0; b < p.batch; ++b) {
    const double* row = &p.logits[std::size_t(b) * p.classes];
    double sum_exp = 0;
    for (int j = 0; j < p.classes; ++j) sum_exp += std::exp(row[j]);
    for (int j = 0; j < p.classes; ++j) {
      const double q = (j == p.labels[b] ? 1.0 - p.smoothing : 0.0) + p.smoothing / p.classes;
      r.ce -= q * std::log(std::exp(row[j]) / sum_exp);
    }
    const std::complex<double> z = reference_z(p, b);
    r.u1 += 1.0 - std::real(z * std::polar(1.0, -p.angles[p.labels[b]]));
  }
  r.ce /= p.batch;
  r.u1 /= p.batch;
  r.loss = r.ce + p.weight * r.u1;
  return r;
}

inline std::vector<double> reference_energy(const std::vector<double>& a, int sites, int channels) {
  std::vector<double> e(sites, 0.0);
  for (int i = 0; i < sites; ++i)
    for (int c = 0; c < channels; ++c)
      e[i] += a[std::size_t(i) * channels + c] * a[std::size_t(i) * channels + c];
  return e;
}

}  // namespace sombrero::test
