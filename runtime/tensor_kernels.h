// Host launch functions for the device side of Tensor's elementwise operations: fill,
// random fills (Philox, runtime/philox.h) and f32 <-> bf16 conversion. Implemented once in
// runtime/tensor_kernels.cu, which builds as namespace ...::cuda (nvcc) and ...::simt (the
// SIMT build, CPU execution of the same kernel code). bf16 buffers are passed as their 16-bit
// patterns (the same bits as sombrero::bf16 and __nv_bfloat16). Each function enqueues work
// on `stream` and returns; `count` elements, none when count == 0.
#pragma once

#include <cstdint>

#include "runtime/philox.h"
#include "runtime/stream_fwd.h"

namespace sombrero::runtime {

// Up to kConversionBatch f32 -> bf16 conversions in one launch (convert_f32_to_bf16_batch),
// passed by value as the kernel's parameter (1.5 KB, under the 4 KB parameter limit).
inline constexpr int kConversionBatch = 64;
struct ConversionBatch {
  int count = 0;
  const float* source[kConversionBatch] = {};
  std::uint16_t* target[kConversionBatch] = {};
  std::int64_t elements[kConversionBatch] = {};
};

// Declares the functions for one execution (cuda or simt); both have the same signatures.
#define SOMBRERO_TENSOR_KERNELS_DECLARE                                                            \
  /* data[i] = value (for bf16: value rounded to nearest, ties to even). */                        \
  void fill_f32(float* data, std::int64_t count, float value, cudaStream_t stream);                \
  void fill_bf16(std::uint16_t* data, std::int64_t count, float value, cudaStream_t stream);       \
  /* data[i] *= factor (f32, one rounding). */                                                     \
  void scale_f32(float* data, std::int64_t count, float factor, cudaStream_t stream);              \
  /* Element i = value i%4 of philox_uniform4(key, first_block + i/4, lo, hi). */                  \
  void fill_uniform_f32(float* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block, \
                        float lo, float hi, cudaStream_t stream);                                  \
  void fill_uniform_bf16(std::uint16_t* data, std::int64_t count, PhiloxKey key,                   \
                         std::uint64_t first_block, float lo, float hi, cudaStream_t stream);      \
  /* Element i = value i%4 of philox_normal4(key, first_block + i/4, mean, stddev). */             \
  void fill_normal_f32(float* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,  \
                       float mean, float stddev, cudaStream_t stream);                             \
  void fill_normal_bf16(std::uint16_t* data, std::int64_t count, PhiloxKey key,                    \
                        std::uint64_t first_block, float mean, float stddev, cudaStream_t stream); \
  void convert_f32_to_bf16(const float* source, std::uint16_t* target, std::int64_t count,         \
                           cudaStream_t stream);                                                   \
  /* Every conversion of the batch (as convert_f32_to_bf16), in one launch. */                     \
  void convert_f32_to_bf16_batch(const ConversionBatch& batch, cudaStream_t stream);               \
  void convert_bf16_to_f32(const std::uint16_t* source, float* target, std::int64_t count,         \
                           cudaStream_t stream);

namespace cuda {
SOMBRERO_TENSOR_KERNELS_DECLARE
}  // namespace cuda

namespace simt {
SOMBRERO_TENSOR_KERNELS_DECLARE
}  // namespace simt

#undef SOMBRERO_TENSOR_KERNELS_DECLARE

}  // namespace sombrero::runtime
