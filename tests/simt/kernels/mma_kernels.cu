// Tensor-core test kernels: a bf16 GEMM built from ldmatrix + mma.m16n8k16, one tf32
// m16n8k8 tile with fragments loaded by the documented layout, and every ldmatrix variant.
#include <cstdint>

#include "runtime/kernel_api.h"
#include "runtime/warp_mma.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

using runtime::ldmatrix_x1;
using runtime::ldmatrix_x1_trans;
using runtime::ldmatrix_x2;
using runtime::ldmatrix_x2_trans;
using runtime::ldmatrix_x4;
using runtime::ldmatrix_x4_trans;

// One warp per 16x8 tile of D; the block's warps share nothing (one warp per block).
__global__ void mma_bf16_gemm_kernel(const std::uint16_t* a, const std::uint16_t* b, float* d,
                                     int n, int k) {
  __shared__ __align__(16) std::uint16_t a_tile[16][16];
  __shared__ __align__(16) std::uint16_t b_tile[16][8];
  const int lane = static_cast<int>(threadIdx.x);
  const int row0 = static_cast<int>(blockIdx.y) * 16, col0 = static_cast<int>(blockIdx.x) * 8;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int k0 = 0; k0 < k; k0 += 16) {
    for (int i = lane; i < 16 * 16; i += 32)
      a_tile[i / 16][i % 16] = a[(row0 + i / 16) * k + k0 + i % 16];
    for (int i = lane; i < 16 * 8; i += 32)
      b_tile[i / 8][i % 8] = b[(k0 + i / 8) * n + col0 + i % 8];
    __syncwarp();
    // A: matrices (rows 0-7, cols 0-7), (rows 8-15, cols 0-7), (rows 0-7, cols 8-15),
    // (rows 8-15, cols 8-15); lane L addresses row L % 16 of column block L / 16.
    std::uint32_t a_frag[4];
    ldmatrix_x4(a_frag, &a_tile[lane % 16][(lane / 16) * 8]);
    // B (k x n, row-major) transposed by ldmatrix: matrices k 0-7 and k 8-15.
    std::uint32_t b_frag[2];
    ldmatrix_x2_trans(b_frag, &b_tile[lane % 16][0]);
    runtime::mma_m16n8k16_bf16(acc, a_frag, b_frag, acc);
    __syncwarp();
  }
  const int g = lane / 4, t = lane % 4;
  d[(row0 + g) * n + col0 + 2 * t] = acc[0];
  d[(row0 + g) * n + col0 + 2 * t + 1] = acc[1];
  d[(row0 + g + 8) * n + col0 + 2 * t] = acc[2];
  d[(row0 + g + 8) * n + col0 + 2 * t + 1] = acc[3];
}

__global__ void mma_tf32_tile_kernel(const float* a, const float* b, const float* c, float* d) {
  const int lane = static_cast<int>(threadIdx.x);
  const int g = lane / 4, t = lane % 4;
  const std::uint32_t a_frag[4] = {
      runtime::float_to_tf32(a[g * 8 + t]), runtime::float_to_tf32(a[(g + 8) * 8 + t]),
      runtime::float_to_tf32(a[g * 8 + t + 4]), runtime::float_to_tf32(a[(g + 8) * 8 + t + 4])};
  const std::uint32_t b_frag[2] = {runtime::float_to_tf32(b[t * 8 + g]),
                                   runtime::float_to_tf32(b[(t + 4) * 8 + g])};
  const float c_frag[4] = {c[g * 8 + 2 * t], c[g * 8 + 2 * t + 1], c[(g + 8) * 8 + 2 * t],
                           c[(g + 8) * 8 + 2 * t + 1]};
  float d_frag[4];
  runtime::mma_m16n8k8_tf32(d_frag, a_frag, b_frag, c_frag);
  d[g * 8 + 2 * t] = d_frag[0];
  d[g * 8 + 2 * t + 1] = d_frag[1];
  d[(g + 8) * 8 + 2 * t] = d_frag[2];
  d[(g + 8) * 8 + 2 * t + 1] = d_frag[3];
}

__global__ void ldmatrix_kernel(const std::uint16_t* tile, std::uint32_t* out) {
  __shared__ __align__(16) std::uint16_t smem[16][16];
  const int lane = static_cast<int>(threadIdx.x);
  for (int i = lane; i < 256; i += 32) smem[i / 16][i % 16] = tile[i];
  __syncwarp();
  // Lane L addresses row L % 16 of column block L / 16, as for an A fragment.
  const void* row = &smem[lane % 16][(lane / 16) * 8];
  std::uint32_t r1[1], r2[2], r4[4];
  std::uint32_t* o = out + lane * 4;
  ldmatrix_x1(r1, row);
  o[0] = r1[0];
  ldmatrix_x2(r2, row);
  o[128 + 0] = r2[0], o[128 + 1] = r2[1];
  ldmatrix_x4(r4, row);
  for (int j = 0; j < 4; ++j) o[256 + j] = r4[j];
  ldmatrix_x1_trans(r1, row);
  o[384] = r1[0];
  ldmatrix_x2_trans(r2, row);
  o[512 + 0] = r2[0], o[512 + 1] = r2[1];
  ldmatrix_x4_trans(r4, row);
  for (int j = 0; j < 4; ++j) o[640 + j] = r4[j];
}

}  // namespace

namespace SOMBRERO_EXEC {

void mma_bf16_gemm(const std::uint16_t* a, const std::uint16_t* b, float* d, int m, int n, int k) {
  SOMBRERO_LAUNCH(mma_bf16_gemm_kernel, dim3(n / 8, m / 16), dim3(32), 0, nullptr, a, b, d, n, k);
}

void mma_tf32_tile(const float* a, const float* b, const float* c, float* d) {
  SOMBRERO_LAUNCH(mma_tf32_tile_kernel, dim3(1), dim3(32), 0, nullptr, a, b, c, d);
}

void ldmatrix_all(const std::uint16_t* tile, std::uint32_t* out) {
  SOMBRERO_LAUNCH(ldmatrix_kernel, dim3(1), dim3(32), 0, nullptr, tile, out);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::simt_test
