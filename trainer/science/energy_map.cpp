#include "trainer/science/energy_map.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kernels/energy/energy.h"
#include "layers/ops/dispatch.h"
#include "runtime/error.h"

namespace sombrero::trainer {

void EnergyMapAccumulator::add(const runtime::Tensor& activation) {
  SOMBRERO_CHECK(activation.rank() == 4,
                 "energy map: an activation [N, h, w, c] is needed, got "
                 "rank ",
                 activation.rank());
  const kernels::EnergyShape shape{
      static_cast<int>(activation.dim(0)), static_cast<int>(activation.dim(1)),
      static_cast<int>(activation.dim(2)), static_cast<int>(activation.dim(3))};
  if (images_ == 0) {
    height_ = shape.height;
    width_ = shape.width;
    sum_.assign(std::size_t(height_) * width_, 0.0);
  }
  SOMBRERO_CHECK(shape.height == height_ && shape.width == width_, "energy map: a ", shape.height,
                 "x", shape.width, " activation after ", height_, "x", width_, " ones");
  std::vector<float> energy(shape.sites());
  if (activation.is_cpu()) {
    const runtime::Tensor a = activation.host_f32();
    kernels::cpu::energy_forward(shape, a.data<float>(), energy.data());
  } else {  // the energy kernel where the activation lives (kernels/energy/energy.cu)
    runtime::Tensor e = runtime::Tensor::empty({shape.batch, shape.height, shape.width},
                                               runtime::DType::f32, activation.device());
    layers::ops::with_element_type(activation.dtype(), [&](auto zero) {
      using T = decltype(zero);
      SOMBRERO_DEVICE_KERNEL(activation.device(), energy_forward, shape, activation.data<T>(),
                             e.data<float>(), activation.stream());
    });
    energy = e.to_floats();
  }
  const std::size_t plane = sum_.size();
  for (int b = 0; b < shape.batch; ++b)
    for (std::size_t i = 0; i < plane; ++i) sum_[i] += energy[std::size_t(b) * plane + i];
  images_ += shape.batch;
}

std::vector<double> EnergyMapAccumulator::mean() const {
  std::vector<double> m = sum_;
  if (images_ > 0)
    for (double& v : m) v /= double(images_);
  return m;
}

double centred_coordinate(int i, int n) {
  return (2.0 * i - (n - 1)) / std::max(n - 1, 1);
}

std::vector<RadialBin> radial_profile(const std::vector<double>& map, int height, int width,
                                      int bins) {
  SOMBRERO_CHECK(bins > 0 && height > 0 && width > 0 && map.size() == std::size_t(height) * width,
                 "radial profile: a ", height, "x", width, " map with ", map.size(), " values and ",
                 bins, " bins");
  const double r_max = std::numbers::sqrt2;
  std::vector<RadialBin> profile(static_cast<std::size_t>(bins));
  for (int b = 0; b < bins; ++b) {
    profile[std::size_t(b)].r_low = r_max * b / bins;
    profile[std::size_t(b)].r_high = r_max * (b + 1) / bins;
  }
  for (int h = 0; h < height; ++h) {
    const double y = (double(height - 1) - 2.0 * h) / std::max(height - 1, 1);
    for (int w = 0; w < width; ++w) {
      const double r = std::hypot(centred_coordinate(w, width), y);
      const int b = std::clamp(static_cast<int>(r / r_max * bins), 0, bins - 1);
      profile[std::size_t(b)].sites += 1;
      profile[std::size_t(b)].mean_energy += map[std::size_t(h) * width + w];
    }
  }
  for (RadialBin& bin : profile)
    if (bin.sites > 0) bin.mean_energy /= double(bin.sites);
  return profile;
}

}  // namespace sombrero::trainer
