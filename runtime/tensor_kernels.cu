// Device side of Tensor's elementwise operations (declared in runtime/tensor_kernels.h):
//   fill:     data[i] = value.
//   uniform:  element i = value i%4 of philox_uniform4(key, first_block + i/4, lo, hi).
//   normal:   element i = value i%4 of philox_normal4(key, first_block + i/4, mean, stddev).
//   convert:  f32 -> bf16 rounds to nearest, ties to even (cvt.rn.bf16.f32 on the GPU, the
//             same integer rounding as runtime/bf16.h elsewhere); bf16 -> f32 is exact. A
//             batch converts up to 64 tensors in one launch (grid y = the tensor).
// Parallelisation: one thread per element (per Philox block of four elements for the random
// fills), 256 threads per block, grid-stride loops over at most 65536 blocks. All of them are
// bandwidth bound: 4 (f32) or 2 (bf16) bytes written per element, plus the bytes read for a
// conversion; Philox costs 10 rounds of two 32x32->64 multiplies per four elements.
// bf16 values are stored through their 16-bit patterns, so the same source builds by nvcc and
// in the SIMT build (where cuda_bf16.h is not available).
#include "runtime/kernel_api.h"
#include "runtime/philox.h"
#include "runtime/tensor_kernels.h"

#include <cstdint>
#include <cstring>

namespace sombrero::runtime::SOMBRERO_EXEC {
namespace {

constexpr int threads_per_block = 256;
constexpr std::int64_t max_blocks = 65536;

// Blocks for `work` items: one thread each, grid-stride beyond max_blocks.
dim3 grid_for(std::int64_t work) {
  const std::int64_t blocks = (work + threads_per_block - 1) / threads_per_block;
  return dim3(static_cast<unsigned>(blocks < max_blocks ? blocks : max_blocks));
}

SOMBRERO_HOST_DEVICE inline std::uint16_t float_to_bf16_bits(float value) {
#if defined(__CUDA_ARCH__)
  return __bfloat16_as_ushort(__float2bfloat16_rn(value));
#else
  std::uint32_t u;
  std::memcpy(&u, &value, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
#endif
}

SOMBRERO_HOST_DEVICE inline float bf16_bits_to_float(std::uint16_t bits) {
#if defined(__CUDA_ARCH__)
  return __bfloat162float(__ushort_as_bfloat16(bits));
#else
  const std::uint32_t u = static_cast<std::uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &u, sizeof value);
  return value;
#endif
}

SOMBRERO_HOST_DEVICE inline void store(float* at, float value) {
  *at = value;
}
SOMBRERO_HOST_DEVICE inline void store(std::uint16_t* at, float value) {
  *at = float_to_bf16_bits(value);
}

__device__ inline std::int64_t global_thread() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t grid_threads() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

template <typename Element>
__global__ void fill_kernel(Element* data, std::int64_t count, float value) {
  for (std::int64_t i = global_thread(); i < count; i += grid_threads()) store(data + i, value);
}

// data[i] *= factor, rounded once (f32; the averaging of all-reduced gradients).
__global__ void scale_kernel(float* data, std::int64_t count, float factor) {
  for (std::int64_t i = global_thread(); i < count; i += grid_threads())
    data[i] = __fmul_rn(data[i], factor);
}

// Thread t writes the four elements of Philox block t (fewer in the last block).
template <typename Element>
__global__ void uniform_kernel(Element* data, std::int64_t count, PhiloxKey key,
                               std::uint64_t first_block, float lo, float hi) {
  const std::int64_t blocks = (count + 3) / 4;
  for (std::int64_t b = global_thread(); b < blocks; b += grid_threads()) {
    float value[4];
    philox_uniform4(key, first_block + static_cast<std::uint64_t>(b), lo, hi, value);
    for (int j = 0; j < 4 && 4 * b + j < count; ++j) store(data + 4 * b + j, value[j]);
  }
}

template <typename Element>
__global__ void normal_kernel(Element* data, std::int64_t count, PhiloxKey key,
                              std::uint64_t first_block, float mean, float stddev) {
  const std::int64_t blocks = (count + 3) / 4;
  for (std::int64_t b = global_thread(); b < blocks; b += grid_threads()) {
    float value[4];
    philox_normal4(key, first_block + static_cast<std::uint64_t>(b), mean, stddev, value);
    for (int j = 0; j < 4 && 4 * b + j < count; ++j) store(data + 4 * b + j, value[j]);
  }
}

__global__ void f32_to_bf16_kernel(const float* source, std::uint16_t* target, std::int64_t count) {
  for (std::int64_t i = global_thread(); i < count; i += grid_threads())
    target[i] = float_to_bf16_bits(source[i]);
}

// Conversion blockIdx.y of the batch, grid-stride over its elements along x.
__global__ void f32_to_bf16_batch_kernel(ConversionBatch batch) {
  const int job = static_cast<int>(blockIdx.y);
  const float* source = batch.source[job];
  std::uint16_t* target = batch.target[job];
  const std::int64_t count = batch.elements[job];
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride)
    target[i] = float_to_bf16_bits(source[i]);
}

__global__ void bf16_to_f32_kernel(const std::uint16_t* source, float* target, std::int64_t count) {
  for (std::int64_t i = global_thread(); i < count; i += grid_threads())
    target[i] = bf16_bits_to_float(source[i]);
}

}  // namespace

void fill_f32(float* data, std::int64_t count, float value, cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(fill_kernel<float>, grid_for(count), threads_per_block, 0, stream, data, count,
                  value);
}

void fill_bf16(std::uint16_t* data, std::int64_t count, float value, cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(fill_kernel<std::uint16_t>, grid_for(count), threads_per_block, 0, stream, data,
                  count, value);
}

void scale_f32(float* data, std::int64_t count, float factor, cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(scale_kernel, grid_for(count), threads_per_block, 0, stream, data, count, factor);
}

void fill_uniform_f32(float* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                      float lo, float hi, cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(uniform_kernel<float>, grid_for((count + 3) / 4), threads_per_block, 0, stream,
                  data, count, key, first_block, lo, hi);
}

void fill_uniform_bf16(std::uint16_t* data, std::int64_t count, PhiloxKey key,
                       std::uint64_t first_block, float lo, float hi, cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(uniform_kernel<std::uint16_t>, grid_for((count + 3) / 4), threads_per_block, 0,
                  stream, data, count, key, first_block, lo, hi);
}

void fill_normal_f32(float* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                     float mean, float stddev, cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(normal_kernel<float>, grid_for((count + 3) / 4), threads_per_block, 0, stream,
                  data, count, key, first_block, mean, stddev);
}

void fill_normal_bf16(std::uint16_t* data, std::int64_t count, PhiloxKey key,
                      std::uint64_t first_block, float mean, float stddev, cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(normal_kernel<std::uint16_t>, grid_for((count + 3) / 4), threads_per_block, 0,
                  stream, data, count, key, first_block, mean, stddev);
}

void convert_f32_to_bf16(const float* source, std::uint16_t* target, std::int64_t count,
                         cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(f32_to_bf16_kernel, grid_for(count), threads_per_block, 0, stream, source, target,
                  count);
}

void convert_f32_to_bf16_batch(const ConversionBatch& batch, cudaStream_t stream) {
  SOMBRERO_CHECK(batch.count >= 0 && batch.count <= kConversionBatch,
                 "convert_f32_to_bf16_batch: ", batch.count, " conversions, at most ",
                 kConversionBatch);
  std::int64_t largest = 0;
  for (int j = 0; j < batch.count; ++j)
    largest = batch.elements[j] > largest ? batch.elements[j] : largest;
  if (largest == 0) return;
  // x: enough blocks for the largest conversion, up to 1024 (grid-stride beyond); y: one row
  // of blocks per conversion (the smaller ones' surplus blocks exit at once).
  const std::int64_t blocks = (largest + threads_per_block - 1) / threads_per_block;
  const dim3 grid(static_cast<unsigned>(blocks < 1024 ? blocks : 1024),
                  static_cast<unsigned>(batch.count));
  SOMBRERO_LAUNCH(f32_to_bf16_batch_kernel, grid, threads_per_block, 0, stream, batch);
}

void convert_bf16_to_f32(const std::uint16_t* source, float* target, std::int64_t count,
                         cudaStream_t stream) {
  if (count == 0) return;
  SOMBRERO_LAUNCH(bf16_to_f32_kernel, grid_for(count), threads_per_block, 0, stream, source, target,
                  count);
}

}  // namespace sombrero::runtime::SOMBRERO_EXEC
