// Normalisation of a uint8 NHWC image batch on the GPU, the first op of a training step:
//   out[p, c] = in[p, c] / 255 * (1 / std[c]) - mean[c] / std[c],   computed as
//   out = in * scale[c] + shift[c],  scale = 1 / (255 std), shift = -mean / std
// with mean and std in [0, 1] units, one value per channel (1 to 4 channels) or one for all.
// The CPU version is datasets::normalize_to_f32 (datasets/normalize.h); the kernel
// (normalize.cu) computes the same roundings, so f32 outputs equal it bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

inline constexpr int kNormalizeMaxChannels = 4;

struct NormalizeParams {
  int channels = 0;
  float scale[kNormalizeMaxChannels] = {};
  float shift[kNormalizeMaxChannels] = {};
};

// scale / shift from mean and std (one per channel, or one for all), computed in double and
// rounded to f32 as datasets::normalize_to_f32 does; throws sombrero::Error naming the problem
// (channel count, value counts, a non-positive std).
NormalizeParams make_normalize_params(int channels, const std::vector<double>& mean,
                                      const std::vector<double>& std);

// `elements` values (a multiple of params.channels) of `in` to `out` (f32 or bf16, rounded
// once). `cuda`: device pointers, asynchronous on `stream`; `simt`: host pointers (tests).
#define SOMBRERO_NORMALIZE_KERNEL_API                                                             \
  void normalize_u8(std::int64_t elements, const NormalizeParams& params, const std::uint8_t* in, \
                    float* out, cudaStream_t stream);                                             \
  void normalize_u8(std::int64_t elements, const NormalizeParams& params, const std::uint8_t* in, \
                    bf16* out, cudaStream_t stream);
namespace cuda {
SOMBRERO_NORMALIZE_KERNEL_API
}  // namespace cuda
namespace simt {
SOMBRERO_NORMALIZE_KERNEL_API
}  // namespace simt
#undef SOMBRERO_NORMALIZE_KERNEL_API

}  // namespace sombrero::kernels
