// CPU side of Tensor's elementwise operations: the same operations and the same numbers as
// runtime/tensor_kernels.cu (fill, Philox uniform/normal fills, f32 <-> bf16 conversion),
// as OpenMP loops. bf16 buffers hold sombrero::bf16 (runtime/bf16.h).
#pragma once

#include <cstdint>

#include "runtime/bf16.h"
#include "runtime/philox.h"

namespace sombrero::runtime::cpu {

void fill_f32(float* data, std::int64_t count, float value);
void fill_bf16(bf16* data, std::int64_t count, float value);
// Element i = value i%4 of philox_uniform4(key, first_block + i/4, lo, hi).
void fill_uniform_f32(float* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                      float lo, float hi);
void fill_uniform_bf16(bf16* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                       float lo, float hi);
// Element i = value i%4 of philox_normal4(key, first_block + i/4, mean, stddev).
void fill_normal_f32(float* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                     float mean, float stddev);
void fill_normal_bf16(bf16* data, std::int64_t count, PhiloxKey key, std::uint64_t first_block,
                      float mean, float stddev);
void convert_f32_to_bf16(const float* source, bf16* target, std::int64_t count);
void convert_bf16_to_f32(const bf16* source, float* target, std::int64_t count);

}  // namespace sombrero::runtime::cpu
