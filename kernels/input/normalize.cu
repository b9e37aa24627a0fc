// uint8 NHWC batch -> f32 or bf16: out = in * scale[c] + shift[c] (normalize.h).
//
// Parallelisation: one thread per value, 256 threads per block, grid-stride over at most 1024
// blocks; the channel of value i is i % channels (NHWC, 1 to 4 channels), the per-channel
// scale and shift travel in the kernel's parameters (constant bank, read by selects), no
// shared memory.
// Floor: 1 byte read and 4 (f32) or 2 (bf16) bytes written per value: an ImageNet batch of
// 256 x 224 x 224 x 3 moves 38.5 M values, ~190 MB in f32, ~0.1 ms on an H100.
// Precision: the product and the sum are rounded separately (__fmul_rn, __fadd_rn: no FMA
// contraction), as the CPU's `in * scale + shift`, so f32 outputs equal
// datasets::normalize_to_f32 bit for bit; bf16 outputs are their rounding (once).
#include <cstdint>

#include "kernels/common/numeric.cuh"
#include "kernels/input/normalize.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 1024;

// v[c] by selects: indexing the parameter array with a run-time c would copy it to local
// memory (a 40-byte stack frame per thread).
__device__ __forceinline__ float pick(const float (&v)[kNormalizeMaxChannels], int c) {
  return c == 0 ? v[0] : (c == 1 ? v[1] : (c == 2 ? v[2] : v[3]));
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    normalize_kernel(std::int64_t elements, NormalizeParams params,
                     const std::uint8_t* __restrict__ in, T* __restrict__ out) {
  for (std::int64_t i = std::int64_t(blockIdx.x) * kThreads + threadIdx.x; i < elements;
       i += std::int64_t(gridDim.x) * kThreads) {
    const int c = static_cast<int>(i % params.channels);
    const float value = static_cast<float>(in[i]);
    out[i] =
        from_float<T>(__fadd_rn(__fmul_rn(value, pick(params.scale, c)), pick(params.shift, c)));
  }
}

template <typename T>
void launch(std::int64_t elements, const NormalizeParams& params, const std::uint8_t* in, T* out,
            cudaStream_t stream) {
  SOMBRERO_CHECK(params.channels >= 1 && params.channels <= kNormalizeMaxChannels &&
                     elements % params.channels == 0,
                 "normalize: ", elements, " values are not whole pixels of ", params.channels,
                 " channels");
  if (elements == 0) return;
  const std::int64_t blocks = (elements + kThreads - 1) / kThreads;
  SOMBRERO_LAUNCH(normalize_kernel<T>,
                  dim3(static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks)),
                  dim3(kThreads), 0, stream, elements, params, in, out);
}

}  // namespace

namespace SOMBRERO_EXEC {

void normalize_u8(std::int64_t elements, const NormalizeParams& params, const std::uint8_t* in,
                  float* out, cudaStream_t stream) {
  launch(elements, params, in, out, stream);
}
void normalize_u8(std::int64_t elements, const NormalizeParams& params, const std::uint8_t* in,
                  bf16* out, cudaStream_t stream) {
  launch(elements, params, in, device_bf16(out), stream);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::kernels
