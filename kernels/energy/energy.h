// Channel-norm energy of an NHWC activation: E[b,h,w] = sum_c A[b,h,w,c]^2, and its
// backward dA += 2 A dE (docs/u1.md). Backends: cpu (here), cuda and simt (energy.cu).
#pragma once

#include <cstddef>

#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

struct EnergyShape {
  int batch = 0, height = 0, width = 0, channels = 0;
  std::size_t sites() const { return std::size_t(batch) * height * width; }
};

namespace cpu {
// energy [batch, height, width] = sum over channels of activation^2 (f32 out, double sums).
void energy_forward(const EnergyShape& shape, const float* activation, float* energy);
// dactivation += 2 * activation * denergy (broadcast over channels).
void energy_backward(const EnergyShape& shape, const float* activation, const float* denergy,
                     float* dactivation);
}  // namespace cpu

// The hand-written kernels (energy.cu): `cuda` on device pointers, asynchronous on `stream`;
// `simt`, the same source executed on the CPU over host pointers (tests). f32 math.
#define SOMBRERO_ENERGY_KERNEL_API                                                              \
  void energy_forward(const EnergyShape& shape, const float* activation, float* energy,         \
                      cudaStream_t stream);                                                     \
  void energy_forward(const EnergyShape& shape, const bf16* activation, float* energy,          \
                      cudaStream_t stream);                                                     \
  void energy_backward(const EnergyShape& shape, const float* activation, const float* denergy, \
                       float* dactivation, cudaStream_t stream);                                \
  void energy_backward(const EnergyShape& shape, const bf16* activation, const float* denergy,  \
                       bf16* dactivation, cudaStream_t stream);
namespace cuda {
SOMBRERO_ENERGY_KERNEL_API
}  // namespace cuda
namespace simt {
SOMBRERO_ENERGY_KERNEL_API
}  // namespace simt
#undef SOMBRERO_ENERGY_KERNEL_API

}  // namespace sombrero::kernels
