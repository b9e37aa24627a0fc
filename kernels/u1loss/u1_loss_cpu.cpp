// CPU backend of the fused one-hot + U(1) loss (docs/u1.md). One sample at a time, OpenMP
// over the batch; sums accumulate in double. Two passes over each sample's activation:
// the first gathers the moments (sum A, sum E, sum E x, sum E y, sum A e_n), the second
// writes the gradient, which depends on those totals.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "kernels/u1loss/u1_loss.h"
#include "runtime/error.h"

namespace sombrero::kernels {

U1Space parse_u1_space(const std::string& name) {
  if (name == "image") return U1Space::image;
  if (name == "feature") return U1Space::feature;
  if (name == "joint") return U1Space::joint;
  SOMBRERO_FAIL("u1.space must be one of image, feature, joint; got '", name, "'");
}

const char* to_string(U1Space space) {
  switch (space) {
    case U1Space::image:
      return "image";
    case U1Space::feature:
      return "feature";
    case U1Space::joint:
      return "joint";
  }
  return "?";
}

void check_u1_loss_inputs(const U1LossShape& s, const U1LossConfig& c, const U1LossArgs& a) {
  SOMBRERO_CHECK(s.batch > 0 && s.classes > 0, "u1 loss: batch (", s.batch, ") and classes (",
                 s.classes, ") must be positive");
  SOMBRERO_CHECK(a.logits && a.labels && a.dlogits,
                 "u1 loss: logits, labels and dlogits are required");
  SOMBRERO_CHECK(c.weight >= 0.0f && std::isfinite(c.weight),
                 "u1 loss: u1.weight must be >= 0, got ", c.weight);
  SOMBRERO_CHECK(c.eps > 0.0f, "u1 loss: u1.eps must be > 0, got ", c.eps);
  SOMBRERO_CHECK(c.label_smoothing >= 0.0f && c.label_smoothing < 1.0f,
                 "u1 loss: label_smoothing must be in [0, 1), got ", c.label_smoothing);
  const bool needs_activation = c.weight > 0.0f || a.z || a.angle_prediction;
  if (needs_activation) {
    SOMBRERO_CHECK(s.height > 0 && s.width > 0 && s.channels > 0, "u1 loss: activation shape ",
                   s.height, "x", s.width, "x", s.channels, " must be positive");
    SOMBRERO_CHECK(a.activation && a.class_angles,
                   "u1 loss: the activation and the class angles are required when u1.weight > 0 "
                   "or the angle readout is asked for");
  }
  if (c.weight > 0.0f)
    SOMBRERO_CHECK(a.dactivation, "u1 loss: dactivation is required when u1.weight > 0");
  for (int i = 0; i < s.batch; ++i)
    SOMBRERO_CHECK(a.labels[i] >= 0 && a.labels[i] < s.classes, "u1 loss: label ", a.labels[i],
                   " of sample ", i, " is outside [0, ", s.classes, ")");
}

int nearest_class_angle(double angle, const float* class_angles, int classes) {
  int best = 0;
  double best_distance = 10.0;
  for (int c = 0; c < classes; ++c) {
    double d = std::fmod(std::fabs(angle - class_angles[c]), 2.0 * std::numbers::pi);
    d = std::min(d, 2.0 * std::numbers::pi - d);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

U1LossResult mean_of_sample_losses(const float* sample_losses, int batch, float weight) {
  U1LossResult r;
  for (int b = 0; b < batch; ++b) {
    r.ce += sample_losses[2 * b];
    r.u1 += sample_losses[2 * b + 1];
  }
  r.ce /= batch;
  r.u1 /= batch;
  r.loss = r.ce + double(weight) * r.u1;
  return r;
}

namespace cpu {

namespace {

// Softmax cross-entropy of one row with smoothed targets; writes (p - q) * scale.
double cross_entropy_row(const float* logits, int label, int classes, float smoothing, float scale,
                         float* dlogits) {
  double max_logit = logits[0];
  for (int j = 1; j < classes; ++j) max_logit = std::max<double>(max_logit, logits[j]);
  double sum_exp = 0.0;
  for (int j = 0; j < classes; ++j) sum_exp += std::exp(logits[j] - max_logit);
  const double log_sum_exp = max_logit + std::log(sum_exp);
  const double off_target = static_cast<double>(smoothing) / classes;
  const double on_target = 1.0 - smoothing + off_target;
  double ce = 0.0;
  for (int j = 0; j < classes; ++j) {
    const double q = j == label ? on_target : off_target;
    const double log_p = logits[j] - log_sum_exp;
    if (q > 0.0) ce -= q * log_p;
    dlogits[j] = static_cast<float>((std::exp(log_p) - q) * scale);
  }
  return ce;
}

// Centred coordinate of index i of n in [-1, 1] (docs/u1.md).
double centred(int i, int n) {
  return (2.0 * i - (n - 1)) / std::max(n - 1, 1);
}

}  // namespace

U1LossResult u1_loss_forward_backward(const U1LossShape& s, const U1LossConfig& c,
                                      const U1LossArgs& a) {
  check_u1_loss_inputs(s, c, a);
  const bool u1_active = c.weight > 0.0f || a.z || a.angle_prediction;
  const float batch_scale = 1.0f / static_cast<float>(s.batch);
  const int H = s.height, W = s.width, N = s.channels;
  const double image_weight = image_share(c.space), feature_weight = feature_share(c.space);

  // The first circular harmonic over channels, e_n = (cos, sin)(2 pi n / N).
  std::vector<double> harmonic_cos(u1_active ? N : 0), harmonic_sin(u1_active ? N : 0);
  for (int n = 0; u1_active && n < N; ++n) {
    harmonic_cos[n] = std::cos(2.0 * std::numbers::pi * n / N);
    harmonic_sin[n] = std::sin(2.0 * std::numbers::pi * n / N);
  }

  double ce_total = 0.0, u1_total = 0.0;
#pragma omp parallel for reduction(+ : ce_total, u1_total) schedule(static)
  for (int b = 0; b < s.batch; ++b) {
    const int label = a.labels[b];
    const double ce =
        cross_entropy_row(a.logits + std::size_t(b) * s.classes, label, s.classes,
                          c.label_smoothing, batch_scale, a.dlogits + std::size_t(b) * s.classes);
    ce_total += ce;
    if (a.sample_losses) {
      a.sample_losses[2 * b] = static_cast<float>(ce);
      a.sample_losses[2 * b + 1] = 0.0f;
    }
    if (!u1_active) continue;

    const float* A = a.activation + std::size_t(b) * H * W * N;
    double sum_a = 0, sum_e = 0, pe_x = 0, pe_y = 0, q_x = 0, q_y = 0;
    for (int h = 0; h < H; ++h) {
      for (int w = 0; w < W; ++w) {
        const float* site = A + (std::size_t(h) * W + w) * N;
        double e = 0;
        for (int n = 0; n < N; ++n) {
          const double v = site[n];
          e += v * v;
          sum_a += v;
          q_x += v * harmonic_cos[n];
          q_y += v * harmonic_sin[n];
        }
        sum_e += e;
        pe_x += e * centred(w, W);
        pe_y += e * -centred(h, H);  // y points up: y_h = ((H-1) - 2h) / max(H-1, 1)
      }
    }
    const double s_e = sum_e + double(c.eps) * H * W;
    const double s_a = sum_a + double(c.eps) * H * W * N;
    const double img_x = pe_x / (std::numbers::sqrt2 * s_e),
                 img_y = pe_y / (std::numbers::sqrt2 * s_e);
    const double feat_x = q_x / s_a, feat_y = q_y / s_a;
    const double z_x = image_weight * img_x + feature_weight * feat_x;
    const double z_y = image_weight * img_y + feature_weight * feat_y;
    const double theta = a.class_angles[label];
    const double u_x = std::cos(theta), u_y = std::sin(theta);
    const double u1 = 1.0 - (z_x * u_x + z_y * u_y);
    u1_total += u1;
    if (a.sample_losses) a.sample_losses[2 * b + 1] = static_cast<float>(u1);
    if (a.z) {
      a.z[2 * b] = static_cast<float>(z_x);
      a.z[2 * b + 1] = static_cast<float>(z_y);
    }
    if (a.angle_prediction)
      a.angle_prediction[b] = nearest_class_angle(std::atan2(z_y, z_x), a.class_angles, s.classes);
    if (c.weight <= 0.0f) continue;

    // dL/dA = image_weight * 2 A g_E(h,w) + feature_weight * -(<u,e_n> - <u,z_feat>) / S_A.
    const double scale = double(c.weight) * batch_scale;
    const double u_dot_img = u_x * img_x + u_y * img_y;
    const double u_dot_feat = u_x * feat_x + u_y * feat_y;
    float* dA = a.dactivation + std::size_t(b) * H * W * N;
    for (int h = 0; h < H; ++h) {
      for (int w = 0; w < W; ++w) {
        const double u_dot_p = u_x * centred(w, W) - u_y * centred(h, H);
        const double g_e = -(u_dot_p / std::numbers::sqrt2 - u_dot_img) / s_e;
        const std::size_t offset = (std::size_t(h) * W + w) * N;
        for (int n = 0; n < N; ++n) {
          const double g_feat =
              -((u_x * harmonic_cos[n] + u_y * harmonic_sin[n]) - u_dot_feat) / s_a;
          const double g = image_weight * 2.0 * A[offset + n] * g_e + feature_weight * g_feat;
          dA[offset + n] += static_cast<float>(scale * g);
        }
      }
    }
  }
  U1LossResult result;
  result.ce = ce_total / s.batch;
  result.u1 = u1_active ? u1_total / s.batch : 0.0;
  result.loss = result.ce + double(c.weight) * result.u1;
  return result;
}

}  // namespace cpu
}  // namespace sombrero::kernels
