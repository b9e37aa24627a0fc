// wgmma test kernel: D (M x N, f32) = A (M x K) * B^T (B given N x K), bf16, one warpgroup
// (128 threads) per 64 rows of D, K in steps of 64 staged in shared memory by plain stores,
// each operand K-major (128B-swizzled or unswizzled core matrices) or MN-major (128B-swizzled,
// transposed wgmma) as runtime/warpgroup_mma.h lays them out, and multiplied by four wgmma
// m64nNk16 per step. Two planted pipeline bugs show what the
// emulation catches: accumulators read before the wait, a tile zeroed before the wait, and
// a thread exiting with a wgmma in flight.
#include <cstdint>

#include "runtime/kernel_api.h"
#include "runtime/warpgroup_mma.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

constexpr int kStepK = 64;  // k per shared-memory step: one 128-byte row of bf16

// How one operand's rows x 64 tile is stored.
enum class Operand { k_swizzled, k_core_matrices, mn_swizzled };

__device__ __forceinline__ Operand a_operand(WgmmaLayout layout) {
  return layout == WgmmaLayout::core_matrices   ? Operand::k_core_matrices
         : layout == WgmmaLayout::swizzle128_mn ? Operand::mn_swizzled
                                                : Operand::k_swizzled;
}
__device__ __forceinline__ Operand b_operand(WgmmaLayout layout) {
  return layout == WgmmaLayout::core_matrices ? Operand::k_core_matrices
         : layout == WgmmaLayout::swizzle128  ? Operand::k_swizzled
                                              : Operand::mn_swizzled;
}

// Byte offset of element (row, k) of a rows x 64 tile (row: m of A, n of B).
__device__ __forceinline__ std::uint32_t tile_offset(Operand operand, int row, int k) {
  const auto r = static_cast<std::uint32_t>(row), q = static_cast<std::uint32_t>(k);
  if (operand == Operand::k_swizzled) return runtime::swizzle128_offset(r, q);
  if (operand == Operand::mn_swizzled)  // 64-row ranges 8 k-groups (8 KB) apart
    return runtime::swizzle128_mn_offset(q, r, kStepK * 128);
  // Core matrices (8 rows x 8 k, 128 contiguous bytes) ordered k-fastest: 8 per 8 rows.
  return ((r / 8) * (kStepK / 8) + q / 8) * 128 + (r % 8) * 16 + (q % 8) * 2;
}

// Descriptor of the 16-wide k slice `slice` (0..3) of a tile at shared address `address`.
__device__ __forceinline__ std::uint64_t slice_descriptor(Operand operand, std::uint32_t address,
                                                          int slice) {
  if (operand == Operand::k_swizzled)  // 32 bytes per slice within each 128-byte row
    return runtime::wgmma_descriptor(address + 32u * slice, 16, 1024,
                                     runtime::WgmmaSwizzle::bytes128);
  if (operand == Operand::mn_swizzled)  // two 8-k groups (2 KB) per slice; LBO per 64 rows
    return runtime::wgmma_descriptor(address + 2048u * slice, kStepK * 128, 1024,
                                     runtime::WgmmaSwizzle::bytes128);
  // Two core matrices per slice along k (LBO 128); 8-row groups 8 core matrices apart.
  return runtime::wgmma_descriptor(address + 256u * slice, 128, 1024, runtime::WgmmaSwizzle::none);
}

// One wgmma m64nNk16 with the layout's transposition flags (1: MN-major).
template <int N, int TransA, int TransB>
__device__ __forceinline__ void multiply_as(float (&acc)[N / 2], std::uint64_t da, std::uint64_t db,
                                            int accumulate) {
  if constexpr (N == 64)
    runtime::wgmma_m64n64k16_bf16<TransA, TransB>(acc, da, db, accumulate);
  else
    runtime::wgmma_m64n128k16_bf16<TransA, TransB>(acc, da, db, accumulate);
}

template <int N>
__device__ __forceinline__ void multiply(float (&acc)[N / 2], WgmmaLayout layout, std::uint64_t da,
                                         std::uint64_t db, int accumulate) {
  if (layout == WgmmaLayout::swizzle128_mn)
    multiply_as<N, 1, 1>(acc, da, db, accumulate);
  else if (layout == WgmmaLayout::swizzle128_b_mn)
    multiply_as<N, 0, 1>(acc, da, db, accumulate);
  else
    multiply_as<N, 0, 0>(acc, da, db, accumulate);
}

template <int N>
__global__ void __launch_bounds__(128)
    wgmma_gemm_kernel(const std::uint16_t* a, const std::uint16_t* b, float* d, int k,
                      WgmmaLayout layout, WgmmaBug bug) {
  SOMBRERO_DYNAMIC_SHARED(std::uint8_t, shared);
  // Tiles 1024-byte aligned in the shared state space, as the 128B swizzle needs.
  const std::uint32_t base = runtime::shared_address(shared);
  std::uint8_t* const a_tile = shared + ((1024u - base % 1024u) % 1024u);
  std::uint8_t* const b_tile = a_tile + 64 * kStepK * 2;
  const std::uint32_t a_address = runtime::shared_address(a_tile);
  const std::uint32_t b_address = runtime::shared_address(b_tile);
  const int thread = static_cast<int>(threadIdx.x);
  const int row0 = static_cast<int>(blockIdx.x) * 64;

  float acc[N / 2];
  for (int i = 0; i < N / 2; ++i) acc[i] = -1.0f;  // overwritten: the first wgmma has scale_d 0
  for (int k0 = 0; k0 < k; k0 += kStepK) {
    for (int e = thread; e < 64 * kStepK; e += 128) {
      const int row = e / kStepK, kk = e % kStepK;
      *reinterpret_cast<std::uint16_t*>(a_tile + tile_offset(a_operand(layout), row, kk)) =
          a[(row0 + row) * k + k0 + kk];
    }
    for (int e = thread; e < N * kStepK; e += 128) {
      const int row = e / kStepK, kk = e % kStepK;
      *reinterpret_cast<std::uint16_t*>(b_tile + tile_offset(b_operand(layout), row, kk)) =
          b[row * k + k0 + kk];
    }
    runtime::fence_proxy_async_shared();
    __syncthreads();
    runtime::wgmma_fence_accumulators(acc);
    runtime::wgmma_fence();
    for (int slice = 0; slice < kStepK / 16; ++slice) {
      const std::uint64_t da = slice_descriptor(a_operand(layout), a_address, slice);
      // The planted bad descriptor starts 2 KB past the end of B's tile: past the window.
      const std::uint32_t b_start = bug == WgmmaBug::b_descriptor_past_shared_memory
                                        ? b_address + N * kStepK * 2 + 2048
                                        : b_address;
      const std::uint64_t db = slice_descriptor(b_operand(layout), b_start, slice);
      multiply<N>(acc, layout, da, db, k0 > 0 || slice > 0);
    }
    runtime::wgmma_commit();
    if (bug == WgmmaBug::tile_overwritten_before_wait)
      for (int e = thread; e < 64 * kStepK; e += 128)
        *reinterpret_cast<std::uint16_t*>(a_tile + 2 * e) = 0;
    if (bug != WgmmaBug::accumulators_read_before_wait &&
        bug != WgmmaBug::exits_with_wgmma_in_flight)
      runtime::wgmma_wait<0>();
    runtime::wgmma_fence_accumulators(acc);
    __syncthreads();  // every warpgroup is done with the tiles before they are refilled
  }
  // Accumulator layout: register i of lane (g, t) in warp w holds row 16 w + g + 8 ((i/2)%2),
  // column 8 (i/4) + 2 t + i%2.
  const int warp = thread / 32, g = (thread % 32) / 4, t = thread % 4;
  for (int i = 0; i < N / 2; ++i) {
    const int row = row0 + 16 * warp + g + 8 * ((i / 2) % 2);
    const int column = 8 * (i / 4) + 2 * t + i % 2;
    d[row * N + column] = acc[i];
  }
  // The planted early read still ends with none in flight; the planted exit does not.
  if (bug != WgmmaBug::exits_with_wgmma_in_flight) runtime::wgmma_wait<0>();
}

}  // namespace

namespace SOMBRERO_EXEC {

void wgmma_gemm(const std::uint16_t* a, const std::uint16_t* b, float* d, int m, int n, int k,
                WgmmaLayout layout, WgmmaBug bug) {
  const std::size_t shared_bytes = 1024 + (64 + static_cast<std::size_t>(n)) * kStepK * 2;
  if (n == 64) {
    runtime::allow_dynamic_shared_memory(wgmma_gemm_kernel<64>, shared_bytes);
    SOMBRERO_LAUNCH(wgmma_gemm_kernel<64>, dim3(m / 64), dim3(128), shared_bytes, nullptr, a, b, d,
                    k, layout, bug);
  } else {
    SOMBRERO_CHECK(n == 128, "wgmma_gemm: n is 64 or 128, got ", n);
    runtime::allow_dynamic_shared_memory(wgmma_gemm_kernel<128>, shared_bytes);
    SOMBRERO_LAUNCH(wgmma_gemm_kernel<128>, dim3(m / 64), dim3(128), shared_bytes, nullptr, a, b, d,
                    k, layout, bug);
  }
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::simt_test
