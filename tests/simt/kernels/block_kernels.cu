// Block-level test kernels: a shared-memory tree reduction and a tiled transpose, each with
// a variant that leaves out one __syncthreads (the planted race the schedules must expose),
// and kernels whose barriers are not reached by all threads.
#include "kernels/common/vector16.cuh"
#include "runtime/kernel_api.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

constexpr int kBlock = 256;

__global__ void block_sum_kernel(const int* x, int* sums, bool racy) {
  __shared__ int partial[kBlock];
  const int t = static_cast<int>(threadIdx.x);
  partial[t] = x[blockIdx.x * kBlock + t];
  __syncthreads();
  for (int stride = kBlock / 2; stride > 0; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    if (!racy) __syncthreads();  // the racy variant reads partial[t + stride] too early
  }
  if (t == 0) sums[blockIdx.x] = partial[0];
}

constexpr int kTile = 32;
constexpr int kRowsPerPass = 8;

__global__ void transpose_kernel(const float* in, int rows, int cols, float* out, bool racy) {
  __shared__ float tile[kTile][kTile + 1];  // +1: no bank conflicts on the column reads
  const int x = static_cast<int>(blockIdx.x * kTile + threadIdx.x);
  for (int dy = 0; dy < kTile; dy += kRowsPerPass) {
    const int y = static_cast<int>(blockIdx.y * kTile + threadIdx.y) + dy;
    if (x < cols && y < rows) tile[threadIdx.y + dy][threadIdx.x] = in[y * cols + x];
  }
  if (!racy) __syncthreads();
  const int tx = static_cast<int>(blockIdx.y * kTile + threadIdx.x);
  for (int dy = 0; dy < kTile; dy += kRowsPerPass) {
    const int ty = static_cast<int>(blockIdx.x * kTile + threadIdx.y) + dy;
    if (tx < rows && ty < cols) out[ty * rows + tx] = tile[threadIdx.x][threadIdx.y + dy];
  }
}

__global__ void early_exit_kernel(int* out) {
  __shared__ int value;
  if (threadIdx.x >= 16) return;  // threads 16-31 leave before the barrier
  if (threadIdx.x == 0) value = 7;
  __syncthreads();
  out[threadIdx.x] = value;
}

__global__ void both_branches_kernel(int* out) {
  __shared__ int value[2];
  if (threadIdx.x < 8) {
    value[0] = 1;
    __syncthreads();
  } else {
    value[1] = 2;
    __syncthreads();
  }
  out[threadIdx.x] = value[0] + value[1];
}

__global__ void shuffle_with_exited_lane_kernel(int* out) {
  if (threadIdx.x == 31) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, static_cast<int>(threadIdx.x), 1);
}

__global__ void barrier_loop_kernel(int barriers, int* out) {
  __shared__ int counter;
  if (threadIdx.x == 0) counter = 0;
  __syncthreads();
  for (int i = 0; i < barriers; ++i) {
    if (threadIdx.x == static_cast<unsigned>(i) % blockDim.x) ++counter;
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = counter;
}

// Reads element `index` of a dynamic shared array of `ints` ints (index == ints: one past).
__global__ void read_shared_kernel(int ints, int index, int* out) {
  SOMBRERO_DYNAMIC_SHARED(int, tile);
  for (int i = static_cast<int>(threadIdx.x); i < ints; i += static_cast<int>(blockDim.x))
    tile[i] = i;
  __syncthreads();
  if (threadIdx.x == 0) *out = tile[index];
}

// out[0..3] = x[0..3] through one 16-byte vector load (kernels/common/vector16.cuh).
__global__ void vector_load_kernel(const float* x, float* out) {
  if (threadIdx.x != 0) return;
  float values[4];
  kernels::load_readonly_as_f32<4>(x, values);
  for (int i = 0; i < 4; ++i) out[i] = values[i];
}

__global__ void read_global_kernel(const int* x, int index, int* out) {
  if (threadIdx.x == 0) *out = x[index];
}

}  // namespace

namespace SOMBRERO_EXEC {

void read_shared(int ints, int index, int* out) {
  SOMBRERO_LAUNCH(read_shared_kernel, dim3(1), dim3(32), sizeof(int) * ints, nullptr, ints, index,
                  out);
}

void vector_load(const float* x, float* out) {
  SOMBRERO_LAUNCH(vector_load_kernel, dim3(1), dim3(32), 0, nullptr, x, out);
}

void read_global(const int* x, int index, int* out) {
  SOMBRERO_LAUNCH(read_global_kernel, dim3(1), dim3(32), 0, nullptr, x, index, out);
}

void block_sum(const int* x, int blocks, int* sums, bool racy) {
  SOMBRERO_LAUNCH(block_sum_kernel, dim3(blocks), dim3(kBlock), 0, nullptr, x, sums, racy);
}

void transpose(const float* in, int rows, int cols, float* out, bool racy) {
  const dim3 grid((cols + kTile - 1) / kTile, (rows + kTile - 1) / kTile);
  SOMBRERO_LAUNCH(transpose_kernel, grid, dim3(kTile, kRowsPerPass), 0, nullptr, in, rows, cols,
                  out, racy);
}

void early_exit_before_barrier(int* out) {
  SOMBRERO_LAUNCH(early_exit_kernel, dim3(1), dim3(32), 0, nullptr, out);
}

void barrier_in_both_branches(int* out) {
  SOMBRERO_LAUNCH(both_branches_kernel, dim3(1), dim3(32), 0, nullptr, out);
}

void shuffle_with_exited_lane(int* out) {
  SOMBRERO_LAUNCH(shuffle_with_exited_lane_kernel, dim3(1), dim3(32), 0, nullptr, out);
}

void barrier_loop(int blocks, int threads, int barriers, int* out) {
  SOMBRERO_LAUNCH(barrier_loop_kernel, dim3(blocks), dim3(threads), 0, nullptr, barriers, out);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::simt_test
