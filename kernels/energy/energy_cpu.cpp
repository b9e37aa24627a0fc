// CPU backend of the channel-norm energy: one pass over A, OpenMP over spatial sites.
#include "kernels/energy/energy.h"
#include "runtime/error.h"

namespace sombrero::kernels::cpu {

namespace {
void check_shape(const EnergyShape& s) {
  SOMBRERO_CHECK(s.batch > 0 && s.height > 0 && s.width > 0 && s.channels > 0,
                 "energy: activation shape ", s.batch, "x", s.height, "x", s.width, "x", s.channels,
                 " must be positive in every dimension");
}
}  // namespace

void energy_forward(const EnergyShape& shape, const float* activation, float* energy) {
  check_shape(shape);
  const long sites = static_cast<long>(shape.sites());
  const int channels = shape.channels;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < sites; ++i) {
    const float* site = activation + std::size_t(i) * channels;
    double sum = 0.0;
    for (int c = 0; c < channels; ++c) sum += double(site[c]) * site[c];
    energy[i] = static_cast<float>(sum);
  }
}

void energy_backward(const EnergyShape& shape, const float* activation, const float* denergy,
                     float* dactivation) {
  check_shape(shape);
  const long sites = static_cast<long>(shape.sites());
  const int channels = shape.channels;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < sites; ++i) {
    const std::size_t offset = std::size_t(i) * channels;
    const float scale = 2.0f * denergy[i];
    for (int c = 0; c < channels; ++c) dactivation[offset + c] += scale * activation[offset + c];
  }
}

}  // namespace sombrero::kernels::cpu
