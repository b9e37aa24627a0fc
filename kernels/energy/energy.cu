// Channel-norm energy E[site] = sum_c A[site, c]^2 of an NHWC activation, and its backward
// dA[site, c] += 2 A[site, c] dE[site]. A is f32 or bf16; all arithmetic is f32.
//
// Two paths, chosen on the host once per launch (rows_split_into_16_byte_vectors): when C is
// a multiple of the 16-byte vector width V (4 f32, 8 bf16) and A (and dA, backward) are
// 16-byte aligned, every access moves V elements at once (one 128-bit load/store per lane,
// unpacked to f32); otherwise (C = 3, odd C, an offset view) V = 1, one element per access.
// Forward: one warp per spatial site (8 warps, 256 threads per block, a grid-stride loop
// over sites). Lane l reads channels [V l, V l + V), then [V (l + 32), ...), ... so a warp
// load covers 32 V contiguous elements (512 bytes on the vector path, 64 for bf16 scalars);
// it accumulates squares in f32 in channel order within the lane, and the lanes are reduced
// with __shfl_xor_sync (a fixed butterfly): deterministic. Lane 0 writes E. The row loop is
// unrolled by 4, so a lane can have 4 loads in flight.
// Backward: one thread per V elements (a 16-byte vector, or one element), grid-stride,
// reading dE of the vector's site (a vector never straddles two sites since V divides C).
// Floors: forward reads sites*C elements once and writes sites floats; backward reads A and
// dA and dE, writes dA: memory-bound, no shared memory, no barriers.
// Precision: f32 math on f32 or bf16 storage (bf16 unpacked exactly, dA rounded to nearest
// even). The two paths give a lane different channels, so forward sums may differ between
// them by f32 rounding. Registers (ptxas, sm_90): at most 34 per thread, no spills.
#include "kernels/common/numeric.cuh"
#include "kernels/common/vector16.cuh"
#include "kernels/energy/energy.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels::SOMBRERO_EXEC {

namespace {

constexpr int kWarpsPerBlock = 8;

// V: elements per access, 1 or kVector16<T>.
template <typename T, int V>
__global__ void energy_forward_kernel(const T* __restrict__ activation, float* __restrict__ energy,
                                      long long sites, int channels) {
  const int lane = threadIdx.x % 32;
  const long long warps = static_cast<long long>(gridDim.x) * kWarpsPerBlock;
  for (long long site = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32; site < sites;
       site += warps) {
    const T* row = activation + site * channels;
    float sum = 0.0f;
#pragma unroll 4
    for (int c = lane * V; c < channels; c += 32 * V) {
      float a[V];
      load_readonly_as_f32<V>(row + c, a);
      for (int e = 0; e < V; ++e) sum = fmaf(a[e], a[e], sum);
    }
    sum = warp_sum(sum);
    if (lane == 0) energy[site] = sum;
  }
}

template <typename T, int V>
__global__ void energy_backward_kernel(const T* __restrict__ activation,
                                       const float* __restrict__ denergy,
                                       T* __restrict__ dactivation, long long elements,
                                       int channels) {
  const long long vectors = elements / V;
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < vectors;
       i += stride) {
    const long long first = i * V;
    const float de = denergy[first / channels];
    float a[V], da[V];
    load_readonly_as_f32<V>(activation + first, a);
    load_as_f32<V>(dactivation + first, da);
    for (int e = 0; e < V; ++e) da[e] = da[e] + 2.0f * a[e] * de;
    store_from_f32<V>(dactivation + first, da);
  }
}

int grid_for(long long work, int per_block) {
  const long long blocks = (work + per_block - 1) / per_block;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

template <typename T>
void forward(const EnergyShape& shape, const T* activation, float* energy, cudaStream_t stream) {
  const long long sites = static_cast<long long>(shape.sites());
  const dim3 grid(grid_for(sites, kWarpsPerBlock)), block(32 * kWarpsPerBlock);
  if (rows_split_into_16_byte_vectors(shape.channels, sizeof(T), {activation}))
    SOMBRERO_LAUNCH((energy_forward_kernel<T, kVector16<T>>), grid, block, 0, stream, activation,
                    energy, sites, shape.channels);
  else
    SOMBRERO_LAUNCH((energy_forward_kernel<T, 1>), grid, block, 0, stream, activation, energy,
                    sites, shape.channels);
}

template <typename T>
void backward(const EnergyShape& shape, const T* activation, const float* denergy, T* dactivation,
              cudaStream_t stream) {
  const long long elements = static_cast<long long>(shape.sites()) * shape.channels;
  if (rows_split_into_16_byte_vectors(shape.channels, sizeof(T), {activation, dactivation}))
    SOMBRERO_LAUNCH((energy_backward_kernel<T, kVector16<T>>),
                    dim3(grid_for(elements / kVector16<T>, 256)), dim3(256), 0, stream, activation,
                    denergy, dactivation, elements, shape.channels);
  else
    SOMBRERO_LAUNCH((energy_backward_kernel<T, 1>), dim3(grid_for(elements, 256)), dim3(256), 0,
                    stream, activation, denergy, dactivation, elements, shape.channels);
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
