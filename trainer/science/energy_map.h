// Mean energy maps E(x,y) = sum_n A(h,w,n)^2 (docs/u1.md) of spatial layers over a set of
// images, and their radial profile about the centre: the "sombrero" profile.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace sombrero::trainer {

// Sums the energy maps of NHWC activations [N, h, w, c] (kernels' cpu::energy_forward).
class EnergyMapAccumulator {
 public:
  void add(const runtime::Tensor& activation);
  int height() const { return height_; }
  int width() const { return width_; }
  std::int64_t images() const { return images_; }
  std::vector<double> mean() const;  // [h * w], row-major, top row first

 private:
  int height_ = 0, width_ = 0;
  std::int64_t images_ = 0;
  std::vector<double> sum_;
};

// One ring of the profile: sites whose centred radius r = sqrt(x_w^2 + y_h^2) lies in
// [r_low, r_high) (the last ring includes r = sqrt 2), with x_w, y_h in [-1, 1] as in
// docs/u1.md. An empty ring has sites = 0 and mean_energy = 0.
struct RadialBin {
  double r_low = 0, r_high = 0;
  std::int64_t sites = 0;
  double mean_energy = 0;
};

// `bins` rings of equal width over [0, sqrt 2] of a map [height * width].
std::vector<RadialBin> radial_profile(const std::vector<double>& map, int height, int width,
                                      int bins = 16);

// Centred coordinate of index i of n in [-1, 1]: (2i - (n-1)) / max(n-1, 1).
double centred_coordinate(int i, int n);

}  // namespace sombrero::trainer
