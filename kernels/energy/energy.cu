// Channel-norm energy E[site] = sum_c A[site, c]^2 of an NHWC activation, and its backward
// dA[site, c] += 2 A[site, c] dE[site]. A is f32 or bf16; all arithmetic is f32.
//
// Two paths, chosen on the host once per launch (rows_split_into_16_byte_vectors): when C is
// a multiple of the 16-byte vector width V (4 f32, 8 bf16) and A (and dA, backward) are
// 16-byte aligned, every access moves V elements at once (one 128-bit load/store per lane,
// unpacked to f32); otherwise (C = 3, odd C, an offset view) V = 1, one element per access.
// Forward: L = 32, 64, 128 or 256 threads per spatial site (the fewest that leave a thread
// at most 4 accesses: ResNet-50's 2048 bf16 channels take 64), 256 / L sites per block at a
// time, a grid-stride loop over site groups. Thread l of a site reads channels [V l, V l + V),
// then [V (l + L), ...), ... so a warp load covers 32 V contiguous elements (512 bytes on the
// vector path, 64 for bf16 scalars); it accumulates squares in f32 in channel order, the
// warp reduces with __shfl_xor_sync (a fixed butterfly) and, for L > 32, the site's first
// thread adds its L / 32 warp sums in order from shared memory: deterministic. (One warp per
// site left 1.5 waves of warps at ResNet-50's 12544 sites; 2 warps per site make it 3, but
// on an H200 that moved 77.0% of copy bandwidth to 78.7% only: the waves were not what
// holds it below copy.) The channel loop is unrolled by 4, so a thread has its (up to) 4
// loads in flight.
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

// V: elements per access, 1 or kVector16<T>; L: threads per site (a multiple of 32).
template <typename T, int V, int L>
__global__ void __launch_bounds__(256)
    energy_forward_kernel(const T* __restrict__ activation, float* __restrict__ energy,
                          long long sites, int channels) {
  constexpr int kSitesPerBlock = 256 / L, kWarpsPerSite = L / 32;
  __shared__ float warp_sums[kSitesPerBlock][kWarpsPerSite];
  const int slot = static_cast<int>(threadIdx.x) / L, t = static_cast<int>(threadIdx.x) % L;
  const long long step = static_cast<long long>(gridDim.x) * kSitesPerBlock;
  // The trip count is uniform across the block (barriers inside when L > 32).
  for (long long first = static_cast<long long>(blockIdx.x) * kSitesPerBlock; first < sites;
       first += step) {
    const long long site = first + slot;
    float sum = 0.0f;
    if (site < sites) {
      const T* row = activation + site * channels;
#pragma unroll 4
      for (int c = t * V; c < channels; c += L * V) {
        float a[V];
        load_readonly_as_f32<V>(row + c, a);
        for (int e = 0; e < V; ++e) sum = fmaf(a[e], a[e], sum);
      }
    }
    sum = warp_sum(sum);
    if constexpr (kWarpsPerSite == 1) {
      if (t == 0 && site < sites) energy[site] = sum;
    } else {
      if (t % 32 == 0) warp_sums[slot][t / 32] = sum;
      __syncthreads();
      if (t == 0 && site < sites) {
        float total = 0.0f;
        for (int w = 0; w < kWarpsPerSite; ++w) total += warp_sums[slot][w];
        energy[site] = total;
      }
      __syncthreads();  // warp_sums is free again
    }
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

template <typename T, int V, int L>
void launch_forward(long long sites, int channels, const T* activation, float* energy,
                    cudaStream_t stream) {
  SOMBRERO_LAUNCH((energy_forward_kernel<T, V, L>), dim3(grid_for(sites, 256 / L)), dim3(256), 0,
                  stream, activation, energy, sites, channels);
}

// Threads per site: the fewest of 32, 64, 128, 256 leaving each at most 4 accesses.
template <typename T, int V>
void forward_with(long long sites, int channels, const T* activation, float* energy,
                  cudaStream_t stream) {
  const int accesses = (channels + V - 1) / V;
  if (accesses <= 4 * 32)
    launch_forward<T, V, 32>(sites, channels, activation, energy, stream);
  else if (accesses <= 4 * 64)
    launch_forward<T, V, 64>(sites, channels, activation, energy, stream);
  else if (accesses <= 4 * 128)
    launch_forward<T, V, 128>(sites, channels, activation, energy, stream);
  else
    launch_forward<T, V, 256>(sites, channels, activation, energy, stream);
}

template <typename T>
void forward(const EnergyShape& shape, const T* activation, float* energy, cudaStream_t stream) {
  const long long sites = static_cast<long long>(shape.sites());
  if (rows_split_into_16_byte_vectors(shape.channels, sizeof(T), {activation}))
    forward_with<T, kVector16<T>>(sites, shape.channels, activation, energy, stream);
  else
    forward_with<T, 1>(sites, shape.channels, activation, energy, stream);
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
