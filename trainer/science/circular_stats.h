// Circular statistics of U(1) phases angle(z) (docs/science.md): the circular mean, the mean
// resultant length R, the Rayleigh test of uniformity, and a histogram on the circle.
//
// For angles t_1..t_n, C = sum cos t_i, S = sum sin t_i, R_n = sqrt(C^2 + S^2):
//   circular mean  = atan2(S, C)          (0 when R_n = 0, as atan2(0, 0) gives)
//   R              = R_n / n in [0, 1]    (1: all equal; near 0: spread or balanced)
//   Rayleigh Z     = n R^2 = R_n^2 / n
//   Rayleigh p     = exp( sqrt(1 + 4n + 4(n^2 - R_n^2)) - (1 + 2n) )
// The p-value is Zar's finite-sample approximation (J. H. Zar, Biostatistical Analysis,
// 5th ed., eq. 27.4, after Greenwood & Durand 1955); it agrees with the series of Mardia &
// Jupp (Directional Statistics, 2000, sec. 6.3.1)
//   p ~= exp(-Z) [1 + (2Z - Z^2)/(4n) - (24Z - 132Z^2 + 76Z^3 - 9Z^4)/(288 n^2)]
// to about 1e-3 for n >= 10, and tends to exp(-Z) for large n.
#pragma once

#include <cstdint>
#include <vector>

namespace sombrero::trainer {

struct CircularSummary {
  std::int64_t n = 0;
  double mean_angle = 0.0;        // radians in (-pi, pi]
  double resultant_length = 0.0;  // R in [0, 1]
  double rayleigh_z = 0.0;        // n R^2
  double rayleigh_p = 1.0;        // probability of an R this large under uniform angles
};

// Accumulates angles one at a time (sums in double); summary() at any point.
class CircularAccumulator {
 public:
  void add(double angle);
  CircularSummary summary() const;

 private:
  double sum_cos_ = 0.0, sum_sin_ = 0.0;
  std::int64_t n_ = 0;
};

CircularSummary circular_summary(const std::vector<double>& angles);

// Zar's Rayleigh p-value above for n angles with mean resultant length R (1 when n <= 1: a
// single angle always has R = 1). Below n ~ 10 it is rough; read it with care.
double rayleigh_p_value(std::int64_t n, double resultant_length);

// The angle wrapped to [0, 2 pi).
double wrap_angle(double angle);
// The distance on the circle between two angles, in [0, pi].
double circular_distance(double a, double b);

// Counts of angles in `bins` equal sectors of [0, 2 pi), sector b = [2 pi b/bins, 2 pi (b+1)/bins).
std::vector<std::int64_t> circular_histogram(const std::vector<double>& angles, int bins);

}  // namespace sombrero::trainer
