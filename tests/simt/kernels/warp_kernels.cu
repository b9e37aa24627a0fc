// Warp-level test kernels: shuffle reductions and scans, votes, a half-warp segment sum,
// and a histogram through shared-memory and global atomics.
#include "runtime/kernel_api.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

constexpr unsigned kFull = 0xffffffffu;

__global__ void warp_ops_kernel(const int* x, int* sums, int* maxima, int* scans, int* broadcast,
                                unsigned* ballots, int* any, int* all) {
  const int t = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int value = x[t];
  int sum = value;
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(kFull, sum, offset);
  int maximum = value;
  for (int mask = 16; mask > 0; mask /= 2)
    maximum = max(maximum, __shfl_xor_sync(kFull, maximum, mask));
  int scan = value;
  for (int offset = 1; offset < 32; offset *= 2) {
    const int before = __shfl_up_sync(kFull, scan, offset);
    if (lane >= offset) scan += before;
  }
  sums[t] = __shfl_sync(kFull, sum, 0);  // lane 0 holds the shfl_down total
  maxima[t] = maximum;
  scans[t] = scan;
  broadcast[t] = __shfl_sync(kFull, value, 5);
  ballots[t] = __ballot_sync(kFull, value > 0);
  any[t] = __any_sync(kFull, value > 100);
  all[t] = __all_sync(kFull, value > -100);
}

__global__ void half_warp_kernel(const float* x, float* sums) {
  const int lane = static_cast<int>(threadIdx.x);
  const unsigned half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  float value = x[lane];
  for (int offset = 8; offset > 0; offset /= 2) value += __shfl_xor_sync(half, value, offset, 16);
  __syncwarp();
  sums[lane] = value;
}

constexpr int kBins = 64;

__global__ void histogram_kernel(const int* values, int n, unsigned* bins, float* total,
                                 int* max_value, int* min_value, float* max_float) {
  __shared__ unsigned local[kBins];
  for (int b = static_cast<int>(threadIdx.x); b < kBins; b += static_cast<int>(blockDim.x))
    local[b] = 0;
  __syncthreads();
  const int stride = static_cast<int>(gridDim.x * blockDim.x);
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += stride) {
    const int v = values[i];
    atomicAdd(&local[v], 1u);
    atomicAdd(total, static_cast<float>(v) * 0.5f);
    atomicMax(max_value, v);
    atomicMin(min_value, v);
    // Float maximum through compare-and-swap, the CUDA idiom (no float atomicMax exists).
    const float candidate = static_cast<float>(v) + 0.25f;
    int* address = reinterpret_cast<int*>(max_float);
    int old = *address;
    while (__int_as_float(old) < candidate) {
      const int seen = atomicCAS(address, old, __float_as_int(candidate));
      if (seen == old) break;
      old = seen;
    }
  }
  __syncthreads();
  for (int b = static_cast<int>(threadIdx.x); b < kBins; b += static_cast<int>(blockDim.x))
    atomicAdd(&bins[b], local[b]);
}

}  // namespace

namespace SOMBRERO_EXEC {

void warp_ops(const int* x, int threads, int* sums, int* maxima, int* scans, int* broadcast,
              unsigned* ballots, int* any, int* all) {
  SOMBRERO_LAUNCH(warp_ops_kernel, dim3(threads / 64), dim3(64), 0, nullptr, x, sums, maxima, scans,
                  broadcast, ballots, any, all);
}

void half_warp_sums(const float* x, float* sums) {
  SOMBRERO_LAUNCH(half_warp_kernel, dim3(1), dim3(32), 0, nullptr, x, sums);
}

void histogram(const int* values, int n, unsigned* bins, float* total, int* max_value,
               int* min_value, float* max_float) {
  SOMBRERO_LAUNCH(histogram_kernel, dim3(4), dim3(128), 0, nullptr, values, n, bins, total,
                  max_value, min_value, max_float);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::simt_test
