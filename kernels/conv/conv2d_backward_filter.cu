// Convolution backward-filter, dw (+)= sum over the batch of x (*) dy, as an implicit GEMM
// with a deterministic split-K (machinery: conv2d_igemm.cuh).
//
//   dw[k,r,s,c] = sum_{n,oh,ow} dy[n,oh,ow,k] x[n, oh*sh - pt + r*dh, ow*sw - pl + s*dw, c]
//
// is C[m][j] = sum_p A[m][p] B[p][j] with
//   m = k             M = K
//   j = (r, s, c)     N_gemm = R*S*C   (dw is row-major C)
//   p = (n, oh, ow)   K_gemm = N*OH*OW (the output pixels: long, e.g. 802816 at batch 256)
//   A[m][p] = dy[p][m]: contiguous along m (rows of the tile: row-major [BK][BM] tile);
//   B[p][j] = x at the tap's input pixel (0 in the padding), contiguous along c.
// M x N_gemm is small (64 x 576 ... 2048 x 4608) and K_gemm long, so the reduction is cut
// into `splits` chunks of K_gemm (multiples of 32), one block column each (grid z). With
// one split the kernel writes dw directly (adding to it when accumulating); with more, each
// writes its f32 partial tile to the workspace ([split][K][R*S*C]) and sum_split_partials
// adds the splits in order 0, 1, ... and then to dw: deterministic, no float atomics. The
// split count (conv2d_gemm_plan) aims at two waves of 132 blocks with >= 512 terms each.
// 16-byte vectors need K and C multiples of 8 (bf16) / 4 (f32) and aligned pointers.
// Tiles as conv2d_forward.cu; on the wgmma tile (Conv2dTile::warpgroup) both operands are
// MN-major (transposed) 128B-swizzled tiles and split chunks are multiples of 64.
// Floors: 2 N OH OW K R S C flops; compulsory DRAM bytes (N H W C + N OH OW K) * sizeof(T)
// + 4 K R S C (dw, f32), plus 8 splits K R S C for the workspace round trip when split.
// Precision: dw is f32 for both input precisions; f32 FFMA in a fixed order, or bf16
// tensor cores accumulating in f32; splits summed in f32 in a fixed order.
#include "kernels/common/fast_divmod.cuh"
#include "kernels/conv/conv2d_igemm.cuh"

namespace sombrero::kernels::SOMBRERO_EXEC {
namespace conv_igemm {
namespace {

// A: rows are output channels k; column p is output pixel p's row of dy, element k of it.
template <typename T>
struct FilterOutputGradient {
  struct Row {
    int k = -1;
  };
  struct Column {
    long long offset = -1;  // of dy[p][0]
  };
  const T* dy;
  int channels, depth;  // K, K_gemm

  __device__ __forceinline__ Row row(int k) const { return Row{k < channels ? k : -1}; }
  __device__ __forceinline__ Column column(int p) const {
    return Column{p < depth ? static_cast<long long>(p) * channels : -1};
  }
  __device__ __forceinline__ Located<T> locate(const Row& r, const Column& c) const {
    const bool present = r.k >= 0 && c.offset >= 0;
    return {dy + (present ? c.offset + r.k : 0ll), present};
  }
};

// B: rows are taps (r, s, c), each a shift within a window (and its channel); column p is
// the window of output pixel p in x.
template <typename T>
struct FilterInput {
  using Row = TapShift;
  using Column = WindowOrigin;
  Geometry g;
  const T* x;
  int taps, depth;                              // R*S*C, K_gemm
  FastDivmod channels, kernel_w, out_w, out_h;  // by g.C, g.S, g.OW, g.OH

  __device__ __forceinline__ Row row(int j) const {
    return j < taps ? tap_shift(g, channels, kernel_w, j) : Row{};
  }
  __device__ __forceinline__ Column column(int p) const {
    return p < depth ? window_origin(g, out_w, out_h, p) : Column{};
  }
  __device__ __forceinline__ Located<T> locate(const Row& t, const Column& o) const {
    return window_element(x, g.H, g.W, o, t);
  }
};

template <typename T>
struct BackwardFilterProblem {
  static constexpr const char* kName = "backward_filter";
  using Element = T;
  using Output = float;
  using AAccess = FilterOutputGradient<T>;
  using BAccess = FilterInput<T>;
  static constexpr bool AContiguousK = false, BContiguousK = false;
  AAccess a;
  BAccess b;
  int gemm_m, gemm_n, gemm_k;
  float* dw;
  float* partials;  // [splits][K][R*S*C], or nullptr: write dw directly
  bool accumulate;
  bool vector_output;  // R*S*C % 4 == 0 and dw, partials 16-byte aligned

  __device__ __forceinline__ long long output_row(int m, int split) const {
    return (static_cast<long long>(partials ? split : 0) * gemm_m + m) * gemm_n;
  }
  __device__ __forceinline__ void store(long long row, int j, float value) const {
    if (partials)
      partials[row + j] = value;
    else
      dw[row + j] = accumulate ? dw[row + j] + value : value;
  }
  __device__ __forceinline__ void store_vector(long long row, int j,
                                               const float (&values)[4]) const {
    if (partials) {
      store_from_f32<4>(partials + row + j, values);
    } else if (accumulate) {
      float sum[4];
      load_as_f32<4>(dw + row + j, sum);
      for (int e = 0; e < 4; ++e) sum[e] += values[e];
      store_from_f32<4>(dw + row + j, sum);
    } else {
      store_from_f32<4>(dw + row + j, values);
    }
  }
};

constexpr int kReduceThreads = 256;

// dw[i] = (accumulate ? dw[i] : 0) + (partials[0][i] + partials[1][i] + ...), in that order.
__global__ void __launch_bounds__(kReduceThreads)
    sum_split_partials(const float* __restrict__ partials, int splits, long long count,
                       float* __restrict__ dw, bool accumulate) {
  const long long stride = static_cast<long long>(gridDim.x) * kReduceThreads;
  for (long long i = static_cast<long long>(blockIdx.x) * kReduceThreads + threadIdx.x; i < count;
       i += stride) {
    float total = 0.0f;
    for (int split = 0; split < splits; ++split) total += partials[split * count + i];
    dw[i] = accumulate ? dw[i] + total : total;
  }
}

template <typename T>
void backward_filter(const Conv2dShape& shape, const T* x, const T* dy, float* dw, bool accumulate,
                     void* workspace, cudaStream_t stream, const Conv2dKernelOptions& options) {
  check_shape(shape, "conv2d_backward_filter");
  const Conv2dGemmPlan plan = conv2d_gemm_plan(Conv2dPass::backward_filter, shape, options);
  SOMBRERO_CHECK(plan.gemm_n < (1ll << 31) && plan.gemm_k < (1ll << 31),
                 "conv2d_backward_filter: the problem is too large for 32-bit GEMM indices");
  SOMBRERO_CHECK(plan.splits == 1 || workspace != nullptr,
                 "conv2d_backward_filter: this shape splits its reduction ", plan.splits,
                 " ways and needs conv2d_backward_filter_workspace_bytes = ",
                 conv2d_backward_filter_workspace_bytes(shape, options),
                 " bytes of workspace, got nullptr");
  const Geometry g = make_geometry(shape);
  const int taps = static_cast<int>(plan.gemm_n), depth = static_cast<int>(plan.gemm_k);
  float* partials = plan.splits > 1 ? static_cast<float*>(workspace) : nullptr;
  const FilterInput<T> input{
      g, x, taps, depth, FastDivmod(g.C), FastDivmod(g.S), FastDivmod(g.OW), FastDivmod(g.OH)};
  const FilterOutputGradient<T> gradient{dy, g.K, depth};
  const bool vector_output = taps % 4 == 0 && aligned16(dw) && (!partials || aligned16(partials));
  const BackwardFilterProblem<T> problem{gradient, input,    g.K,        taps,         depth,
                                         dw,       partials, accumulate, vector_output};
  constexpr int V = 16 / static_cast<int>(sizeof(T));
  const bool vectorized = g.K % V == 0 && g.C % V == 0 && aligned16(x) && aligned16(dy);
  launch(problem, plan.large_tile, vectorized, plan.splits, static_cast<int>(plan.split_chunk),
         stream, plan.warpgroup, plan.wgmma_tile);
  if (partials) {
    const long long count = plan.gemm_m * plan.gemm_n;
    const long long blocks =
        std::min<long long>((count + kReduceThreads - 1) / kReduceThreads, 1024);
    SOMBRERO_LAUNCH(sum_split_partials, dim3(static_cast<unsigned>(blocks)), dim3(kReduceThreads),
                    0, stream, partials, plan.splits, count, dw, accumulate);
  }
}

}  // namespace
}  // namespace conv_igemm

void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy, float* dw,
                            bool accumulate, void* workspace, cudaStream_t stream,
                            const Conv2dKernelOptions& options) {
  conv_igemm::backward_filter(shape, x, dy, dw, accumulate, workspace, stream, options);
}

void conv2d_backward_filter(const Conv2dShape& shape, const bf16* x, const bf16* dy, float* dw,
                            bool accumulate, void* workspace, cudaStream_t stream,
                            const Conv2dKernelOptions& options) {
  conv_igemm::backward_filter(shape, device_bf16(x), device_bf16(dy), dw, accumulate, workspace,
                              stream, options);
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC
