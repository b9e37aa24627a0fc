// Small device helpers shared by kernel sources (nvcc and SIMT builds alike): loads of f32
// or bf16 as f32, stores back, and a warp-wide sum by butterfly shuffles.
#pragma once

#include "runtime/bf16.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {

__device__ __forceinline__ float to_float(float v) {
  return v;
}
__device__ __forceinline__ float to_float(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16(v);  // round to nearest even
}

// The gradient through a ReLU whose forward output was `output`: passed where the output's
// bits, as an int32, are > 0 (output > 0, and a NaN with the sign bit clear: the NaN passed
// the forward), else 0 (0 and -0 included), as the CPU backend. Every kernel that masks by a
// ReLU's output uses this one test, so their results agree bit for bit.
__device__ __forceinline__ float relu_backward_mask(float output, float gradient) {
  return __float_as_int(output) > 0 ? gradient : 0.0f;
}

// A BatchNorm's output before rounding, x scale + shift with the product and the sum rounded
// alone (no FMA contraction), as the CPU backend; and the ReLU after it (NaN passes, as
// torch's). The BatchNorm's forward, pointwise's ReLU and the backward-data epilogue that
// recomputes the ReLU's mask from x (conv2d_backward_data_with_batch_norm) share these, so
// they agree bit for bit.
__device__ __forceinline__ float batch_norm_affine(float x, float scale, float shift) {
  return __fadd_rn(__fmul_rn(x, scale), shift);
}
__device__ __forceinline__ float relu_value(float v) {
  return v < 0.0f ? 0.0f : v;
}

// Sum over the 32 lanes of a warp; every lane receives the total. All lanes must call it.
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// The device type behind sombrero::bf16 in host-side APIs (same 16-bit layout).
__host__ __device__ inline const __nv_bfloat16* device_bf16(const bf16* p) {
  return reinterpret_cast<const __nv_bfloat16*>(p);
}
__host__ __device__ inline __nv_bfloat16* device_bf16(bf16* p) {
  return reinterpret_cast<__nv_bfloat16*>(p);
}

}  // namespace sombrero::kernels
