#include "trainer/science/circular_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "runtime/error.h"

namespace sombrero::trainer {

void CircularAccumulator::add(double angle) {
  sum_cos_ += std::cos(angle);
  sum_sin_ += std::sin(angle);
  ++n_;
}

CircularSummary CircularAccumulator::summary() const {
  CircularSummary s;
  s.n = n_;
  if (n_ == 0) return s;
  const double resultant = std::hypot(sum_cos_, sum_sin_);
  s.mean_angle = std::atan2(sum_sin_, sum_cos_);
  s.resultant_length = std::min(1.0, resultant / double(n_));
  s.rayleigh_z = resultant * resultant / double(n_);
  s.rayleigh_p = rayleigh_p_value(n_, s.resultant_length);
  return s;
}

CircularSummary circular_summary(const std::vector<double>& angles) {
  CircularAccumulator accumulator;
  for (double angle : angles) accumulator.add(angle);
  return accumulator.summary();
}

double rayleigh_p_value(std::int64_t n, double resultant_length) {
  if (n <= 1) return 1.0;  // one angle always has R = 1: no evidence either way
  // Zar (2010), eq. 27.4: p = exp(sqrt(1 + 4n + 4(n^2 - R_n^2)) - (1 + 2n)), R_n = n R.
  const double nn = double(n);
  const double rn = nn * resultant_length;
  const double p =
      std::exp(std::sqrt(1.0 + 4.0 * nn + 4.0 * (nn * nn - rn * rn)) - (1.0 + 2.0 * nn));
  return std::clamp(p, 0.0, 1.0);
}

double wrap_angle(double angle) {
  const double two_pi = 2.0 * std::numbers::pi;
  double wrapped = std::fmod(angle, two_pi);
  if (wrapped < 0.0) wrapped += two_pi;
  return wrapped >= two_pi ? 0.0 : wrapped;
}

double circular_distance(double a, double b) {
  const double d = wrap_angle(a - b);
  return std::min(d, 2.0 * std::numbers::pi - d);
}

std::vector<std::int64_t> circular_histogram(const std::vector<double>& angles, int bins) {
  SOMBRERO_CHECK(bins > 0, "circular histogram: bins must be positive, got ", bins);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(bins), 0);
  for (double angle : angles) {
    const int b = static_cast<int>(wrap_angle(angle) / (2.0 * std::numbers::pi) * bins);
    ++counts[static_cast<std::size_t>(std::clamp(b, 0, bins - 1))];
  }
  return counts;
}

}  // namespace sombrero::trainer
