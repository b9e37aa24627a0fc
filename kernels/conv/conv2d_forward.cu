// Convolution forward, y = conv(x, w), as an implicit GEMM (machinery: conv2d_igemm.cuh).
//
//   y[n,oh,ow,k] = sum_{r,s,c} x[n, oh*sh - pt + r*dh, ow*sw - pl + s*dw, c] w[k,r,s,c]
//
// is C[m][j] = sum_q A[m][q] B[q][j] with
//   m = (n, oh, ow)   M = N*OH*OW      (the output pixel; y is row-major C, K per row)
//   j = k             N_gemm = K
//   q = (r, s, c)     K_gemm = R*S*C   (c fastest, as in KRSC and NHWC)
//   A[m][q] = x at the tap's input pixel (0 in the padding), contiguous along c;
//   B[q][j] = w[j][q]: row j of w is contiguous along q.
// Both operands are contiguous along q ("k-major" tiles). 16-byte vectors need C % 8 == 0
// (bf16) or C % 4 == 0 (f32) and 16-byte aligned x and w; otherwise every element is
// loaded with its own predicate (the RGB stem, C = 3, goes that way).
// Tiles: bf16 128x128x32 (8 warps) or 64x64x32 (4 warps) of mma.m16n8k16; f32 128x128x8
// or 64x64x16 FFMA (256 threads); 128x128 when that still gives >= 132 blocks. On request
// (Conv2dTile::warpgroup), bf16 with vectorized operands: 128x128x64 on wgmma m64n128k16,
// 2 warpgroups, 3 cp.async stages of 128B-swizzled k-major tiles (97 KB of shared memory).
// Floors: 2 N OH OW K R S C flops; compulsory DRAM bytes (N H W C + K R S C + N OH OW K) *
// sizeof(T); the tiles re-read x and w from L2: K_gemm (M ceil(K / BN) + K ceil(M / BM))
// elements in all.
// Precision: f32: FFMA in a fixed k order (the SIMT and GPU builds agree bit for bit);
// bf16: exact products accumulated in f32 by the tensor cores, y rounded once to bf16.
#include "kernels/common/fast_divmod.cuh"
#include "kernels/conv/conv2d_igemm.cuh"

namespace sombrero::kernels::SOMBRERO_EXEC {
namespace conv_igemm {
namespace {

// A: rows are output pixels, each the origin of its window in x; a column k = (r, s, c) is
// the shift of tap (r, s) plus channel c.
template <typename T>
struct ForwardInput {
  using Row = WindowOrigin;
  using Column = TapShift;
  Geometry g;
  const T* x;
  int rows, depth;                              // M, K_gemm
  FastDivmod out_w, out_h, channels, kernel_w;  // by g.OW, g.OH, g.C, g.S

  __device__ __forceinline__ Row row(int m) const {
    return m < rows ? window_origin(g, out_w, out_h, m) : Row{};
  }
  __device__ __forceinline__ Column column(int q) const {
    return q < depth ? tap_shift(g, channels, kernel_w, q) : Column{};
  }
  __device__ __forceinline__ Located<T> locate(const Row& r, const Column& c) const {
    return window_element(x, g.H, g.W, r, c);
  }
};

// B: rows are output channels, each a contiguous row of w; a column is k itself.
template <typename T>
struct ForwardWeights {
  struct Row {
    int offset = -1;  // of w[k] (w has < 2^31 elements: check_shape)
  };
  struct Column {
    int q = -1;
  };
  const T* w;
  int rows, depth;  // K, K_gemm

  __device__ __forceinline__ Row row(int k) const { return Row{k < rows ? k * depth : -1}; }
  __device__ __forceinline__ Column column(int q) const { return Column{q < depth ? q : -1}; }
  __device__ __forceinline__ Located<T> locate(const Row& r, const Column& c) const {
    const bool present = r.offset >= 0 && c.q >= 0;
    return {w + (present ? r.offset + c.q : 0), present};
  }
};

template <typename T>
struct ForwardProblem {
  static constexpr const char* kName = "forward";
  using Element = T;
  using Output = T;
  using AAccess = ForwardInput<T>;
  using BAccess = ForwardWeights<T>;
  static constexpr bool AContiguousK = true, BContiguousK = true;
  AAccess a;
  BAccess b;
  int gemm_m, gemm_n, gemm_k;
  T* y;
  bool vector_output;           // K % (16 / sizeof(T)) == 0 and y 16-byte aligned
  float* statistics = nullptr;  // per row tile and channel: sum, centred sum of squares

  __device__ __forceinline__ long long output_row(int m, int /*split*/) const {
    return static_cast<long long>(m) * gemm_n;
  }
  __device__ __forceinline__ void store(long long row, int k, float value) const {
    y[row + k] = from_float<T>(value);
  }
  __device__ __forceinline__ void store_vector(long long row, int k,
                                               const float (&values)[16 / sizeof(T)]) const {
    store_from_f32<16 / sizeof(T)>(y + row + k, values);
  }
};

template <typename T>
void forward(const Conv2dShape& shape, const T* x, const T* w, T* y, cudaStream_t stream,
             const Conv2dKernelOptions& options, float* statistics = nullptr) {
  check_shape(shape, "conv2d_forward");
  const Conv2dGemmPlan plan = conv2d_gemm_plan(Conv2dPass::forward, shape, options);
  SOMBRERO_CHECK(plan.gemm_m < (1ll << 31) && plan.gemm_k < (1ll << 31),
                 "conv2d_forward: the problem is too large for 32-bit GEMM indices");
  const Geometry g = make_geometry(shape);
  const int M = static_cast<int>(plan.gemm_m), K = g.K, depth = static_cast<int>(plan.gemm_k);
  const ForwardInput<T> input{
      g, x, M, depth, FastDivmod(g.OW), FastDivmod(g.OH), FastDivmod(g.C), FastDivmod(g.S)};
  constexpr int V = 16 / static_cast<int>(sizeof(T));
  const ForwardProblem<T> problem{
      input, {w, K, depth}, M, K, depth, y, K % V == 0 && aligned16(y), statistics};
  const bool vectorized = g.C % V == 0 && aligned16(x) && aligned16(w);
  launch(problem, plan.large_tile, vectorized, 1, 0, stream, plan.warpgroup, plan.wgmma_tile);
}

}  // namespace
}  // namespace conv_igemm

void conv2d_forward(const Conv2dShape& shape, const float* x, const float* w, float* y,
                    cudaStream_t stream, const Conv2dKernelOptions& options) {
  conv_igemm::forward(shape, x, w, y, stream, options);
}

void conv2d_forward(const Conv2dShape& shape, const bf16* x, const bf16* w, bf16* y,
                    cudaStream_t stream, const Conv2dKernelOptions& options) {
  conv_igemm::forward(shape, device_bf16(x), device_bf16(w), device_bf16(y), stream, options);
}

void conv2d_forward_with_statistics(const Conv2dShape& shape, const bf16* x, const bf16* w, bf16* y,
                                    float* statistics, cudaStream_t stream,
                                    const Conv2dKernelOptions& options) {
  SOMBRERO_CHECK(statistics != nullptr && conv2d_statistics_fusable(shape, true, y),
                 "conv2d_forward_with_statistics: needs K a multiple of 8 (got ",
                 shape.out_channels, "), a 16-byte aligned y and a statistics buffer");
  conv_igemm::forward(shape, device_bf16(x), device_bf16(w), device_bf16(y), stream, options,
                      statistics);
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC
