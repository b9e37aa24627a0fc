// Channel-norm energy E[site] = sum_c A[site, c]^2 of an NHWC activation, and its backward
// dA[site, c] += 2 A[site, c] dE[site]. A is f32 or bf16; all arithmetic is f32.
//
// Forward: one warp per spatial site (8 warps, 256 threads per block, a grid-stride loop
// over sites). Lanes read channels lane, lane + 32, ... so each warp load is contiguous,
// accumulate squares in f32 and reduce with __shfl_xor_sync; lane 0 writes E.
// Backward: one thread per element, grid-stride, reading dE of the element's site.
// Floors: forward reads sites*C elements once and writes sites floats; backward reads A and
// dA and dE, writes dA: memory-bound, no shared memory, no barriers.
#include "kernels/common/numeric.cuh"
#include "kernels/energy/energy.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels::SOMBRERO_EXEC {

namespace {

constexpr int kWarpsPerBlock = 8;

template <typename T>
__global__ void energy_forward_kernel(const T* __restrict__ activation, float* __restrict__ energy,
                                      long long sites, int channels) {
  const int lane = threadIdx.x % 32;
  const long long warps = static_cast<long long>(gridDim.x) * kWarpsPerBlock;
  for (long long site = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32; site < sites;
       site += warps) {
    const T* row = activation + site * channels;
    float sum = 0.0f;
    for (int c = lane; c < channels; c += 32) {
      const float v = to_float(row[c]);
      sum = fmaf(v, v, sum);
    }
    sum = warp_sum(sum);
    if (lane == 0) energy[site] = sum;
  }
}

template <typename T>
__global__ void energy_backward_kernel(const T* __restrict__ activation,
                                       const float* __restrict__ denergy,
                                       T* __restrict__ dactivation, long long elements,
                                       int channels) {
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < elements;
       i += stride) {
    const float g =
        to_float(dactivation[i]) + 2.0f * to_float(activation[i]) * denergy[i / channels];
    dactivation[i] = from_float<T>(g);
  }
}

int grid_for(long long work, int per_block) {
  const long long blocks = (work + per_block - 1) / per_block;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

template <typename T>
void forward(const EnergyShape& shape, const T* activation, float* energy, cudaStream_t stream) {
  const long long sites = static_cast<long long>(shape.sites());
  SOMBRERO_LAUNCH(energy_forward_kernel<T>, dim3(grid_for(sites, kWarpsPerBlock)),
                  dim3(32 * kWarpsPerBlock), 0, stream, activation, energy, sites, shape.channels);
}

template <typename T>
void backward(const EnergyShape& shape, const T* activation, const float* denergy, T* dactivation,
              cudaStream_t stream) {
  const long long elements = static_cast<long long>(shape.sites()) * shape.channels;
  SOMBRERO_LAUNCH(energy_backward_kernel<T>, dim3(grid_for(elements, 256)), dim3(256), 0, stream,
                  activation, denergy, dactivation, elements, shape.channels);
}

}  // namespace

void energy_forward(const EnergyShape& shape, const float* activation, float* energy,
                    cudaStream_t stream) {
  forward(shape, activation, energy, stream);
}
void energy_forward(const EnergyShape& shape, const bf16* activation, float* energy,
                    cudaStream_t stream) {
  forward(shape, device_bf16(activation), energy, stream);
}
void energy_backward(const EnergyShape& shape, const float* activation, const float* denergy,
                     float* dactivation, cudaStream_t stream) {
  backward(shape, activation, denergy, dactivation, stream);
}
void energy_backward(const EnergyShape& shape, const bf16* activation, const float* denergy,
                     bf16* dactivation, cudaStream_t stream) {
  backward(shape, device_bf16(activation), denergy, device_bf16(dactivation), stream);
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC
