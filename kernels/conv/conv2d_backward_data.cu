// Convolution backward-data, dx = conv_transpose(dy, w), as implicit GEMMs, one per stride
// phase (machinery: conv2d_igemm.cuh).
//
//   dx[n,h,w,c] = sum over taps (r, s) and k of dy[n,oh,ow,k] w[k,r,s,c]
//                 where h + pt - r*dh = oh*sh and w + pl - s*dw = ow*sw, 0 <= oh < OH, ...
//
// With stride > 1 most taps do not land: only those with (h + pt - r*dh) divisible by sh.
// Which r those are depends only on the phase h mod sh, so the input pixels are split into
// sh*sw phases (ph, pw) and each phase is one dense GEMM over exactly its landing taps:
//   m = (n, hi, wi), h = ph + hi*sh, w = pw + wi*sw   M = N * ceil((H-ph)/sh) * ceil((W-pw)/sw)
//   j = c                                              N_gemm = C
//   q = (rj, sj, k), r = r0 + rj*rstep, s = s0 + sj*sstep   K_gemm = R' * S' * K
// where r0 is the first landing tap of the phase and rstep = sh / gcd(sh, dh) (every
// rstep-th tap lands then). A phase that no tap reaches (1x1 stride 2: three phases of
// four) has K_gemm = 0 and its launch writes zeros. Stride 1 is one phase, no waste.
//   A[m][q] = dy[n, oh, ow, k] (0 outside), contiguous along k ("k-major" tile);
//   B[q][j] = w[k, r, s, c], contiguous along c (rows of the tile are j: row-major tile).
// 16-byte vectors need K and C multiples of 8 (bf16) / 4 (f32) and aligned pointers.
// Tiles as conv2d_forward.cu (chosen on the whole N*H*W x C problem); on the wgmma tile
// (Conv2dTile::warpgroup) A is a k-major and B an MN-major (transposed) 128B-swizzled tile.
// Floors: 2 N OH OW K R S C flops (no wasted taps); compulsory DRAM bytes (N OH OW K +
// K R S C + N H W C) * sizeof(T).
// Precision: as forward: f32 FFMA in a fixed order, or bf16 tensor cores accumulating in
// f32, dx rounded once.
// With a BatchNorm's backward sums (conv2d_backward_data_with_batch_norm, bf16, the staged
// epilogue of conv2d_igemm.cuh): each stored vector of dx is masked by the ReLU's output and
// rounded, and the epilogue also reads the BatchNorm's input there (two 16-byte loads per
// vector more) and sums g and g (x - mean) per column of each 128-row (64 on the small tile)
// statistics tile, f32 in a fixed order; tiles are numbered over the phases in launch order.
#include <numeric>
#include <type_traits>

#include "kernels/common/fast_divmod.cuh"
#include "kernels/conv/conv2d_igemm.cuh"

namespace sombrero::kernels::SOMBRERO_EXEC {
namespace conv_igemm {
namespace {

// The landing taps of one phase along one axis: r0, r0 + step, ... (count of them).
struct PhaseTaps {
  int first = 0, step = 1, count = 0;
};

// Taps r in [0, kernel) with (phase + pad - r*dilation) divisible by stride.
PhaseTaps phase_taps(int phase, int pad, int dilation, int stride, int kernel) {
  PhaseTaps taps;
  taps.step = stride / std::gcd(stride, dilation);
  for (int r = 0; r < std::min(kernel, taps.step); ++r) {
    const int offset = ((phase + pad - r * dilation) % stride + stride) % stride;
    if (offset == 0) {
      taps.first = r;
      taps.count = (kernel - r + taps.step - 1) / taps.step;
      break;
    }
  }
  return taps;
}

// One stride phase: its pixels, its landing taps, and where a landing tap takes its
// pixels in dy. Pixel (hi, wi) of the phase is input pixel h = ph + hi sh; landing tap
// r = r0 + rj rstep reaches it from output row oh = (h + pt - r dh) / sh, which is
//   oh = hi + oh_base - rj oh_step,  oh_base = (ph + pt - r0 dh) / sh,  oh_step = dh / gcd(sh, dh)
// (exact divisions: r0 lands, and rstep dh = sh oh_step): no division per element.
struct Phase {
  int ph, pw, rows_h, rows_w;  // the phase and its pixel counts along h and w
  PhaseTaps taps_h, taps_w;
  int oh_base, oh_step, ow_base, ow_step;
};

// The divisors of a phase's index decompositions, precomputed on the host.
struct PhaseDivisors {
  FastDivmod out_channels, taps_w;  // q -> (rj, sj, k): by g.K, then by p.taps_w.count
  FastDivmod rows_w, rows_h;        // m -> (n, hi, wi): by p.rows_w, then by p.rows_h
};

// q -> (rj, sj, k) of a phase: the landing taps' indices along h and w, and the channel.
struct PhaseTap {
  int rj, sj, k;
};
__device__ __forceinline__ PhaseTap phase_tap(const PhaseDivisors& d, int q) {
  int t, k, rj, sj;
  d.out_channels.divmod(q, t, k);
  d.taps_w.divmod(t, rj, sj);
  return {rj, sj, k};
}

// (n, hi, wi) of row m of a phase.
struct PhasePixel {
  int n, hi, wi;
};
__device__ __forceinline__ PhasePixel phase_pixel(const PhaseDivisors& d, int m) {
  PhasePixel pixel;
  int t;
  d.rows_w.divmod(m, t, pixel.wi);
  d.rows_h.divmod(t, pixel.n, pixel.hi);
  return pixel;
}

// A: a row is a pixel (hi, wi) of the phase, as a window origin in dy at (hi, wi) of image
// n; a column q = (rj, sj, k) shifts it to the output pixel that tap reaches, channel k.
template <typename T>
struct OutputGradient {
  using Row = WindowOrigin;
  using Column = TapShift;
  Geometry g;
  Phase p;
  PhaseDivisors divisors;
  const T* dy;
  int rows, depth;  // M, K_gemm

  __device__ __forceinline__ Row row(int m) const {
    Row r;
    if (m >= rows) return r;
    const PhasePixel pixel = phase_pixel(divisors, m);
    r.h = pixel.hi;
    r.w = pixel.wi;
    r.offset = pixel_offset(pixel.n, r.h, r.w, g.OH, g.OW, g.K);
    return r;
  }
  __device__ __forceinline__ Column column(int q) const {
    Column c;
    if (q >= depth) return c;
    const PhaseTap tap = phase_tap(divisors, q);
    c.h = p.oh_base - tap.rj * p.oh_step;
    c.w = p.ow_base - tap.sj * p.ow_step;
    c.offset = shift_offset(c.h, c.w, tap.k, g.OW, g.K);
    return c;
  }
  __device__ __forceinline__ Located<T> locate(const Row& r, const Column& c) const {
    return window_element(dy, g.OH, g.OW, r, c);
  }
};

// B: rows are input channels c; column q is w[k, r, s, .] of its tap, element c of it.
template <typename T>
struct TransposedWeights {
  struct Row {
    int c = -1;
  };
  struct Column {
    int offset = -1;  // of w[k, r, s, 0] (w has < 2^31 elements: check_shape)
  };
  Geometry g;
  Phase p;
  PhaseDivisors divisors;
  const T* w;
  int depth;

  __device__ __forceinline__ Row row(int c) const { return Row{c < g.C ? c : -1}; }
  __device__ __forceinline__ Column column(int q) const {
    if (q >= depth) return Column{};
    const PhaseTap tap = phase_tap(divisors, q);
    const int r = p.taps_h.first + tap.rj * p.taps_h.step;
    const int s = p.taps_w.first + tap.sj * p.taps_w.step;
    return Column{((tap.k * g.R + r) * g.S + s) * g.C};
  }
  __device__ __forceinline__ Located<T> locate(const Row& r, const Column& c) const {
    const bool present = r.c >= 0 && c.offset >= 0;
    return {w + (present ? c.offset + r.c : 0), present};
  }
};

template <typename T>
struct BackwardDataProblem {
  static constexpr const char* kName = "backward_data";
  using Element = T;
  using Output = T;
  using AAccess = OutputGradient<T>;
  using BAccess = TransposedWeights<T>;
  static constexpr bool AContiguousK = true, BContiguousK = false;
  AAccess a;
  BAccess b;
  int gemm_m, gemm_n, gemm_k;
  T* dx;
  bool vector_output;  // C % (16 / sizeof(T)) == 0 and dx 16-byte aligned
  bool accumulate;     // dx += the gradient (read-modify-write in the epilogue)
  // A BatchNorm's backward sums in the staged epilogue (conv2d_backward_data_with_batch_norm;
  // nullptr: none): dx is then g, the gradient masked where relu_output (nullptr: no ReLU) is
  // not > 0, and statistics tile t of this launch's rows gets partials[2 t][c] = sum g and
  // partials[2 t + 1][c] = sum g (bn_input - bn_mean_c) (t from partial_tile_offset on).
  // With relu_affine ([scale | shift], gemm_n each) the ReLU's output is recomputed from
  // bn_input instead of read from relu_output.
  float* gradient_partials = nullptr;
  const T* relu_output = nullptr;
  const T* bn_input = nullptr;
  const float* bn_mean = nullptr;
  long long partial_tile_offset = 0;
  const float* relu_affine = nullptr;

  __device__ __forceinline__ long long output_row(int m, int /*split*/) const {
    const Geometry& g = a.g;
    const Phase& p = a.p;
    const PhasePixel pixel = phase_pixel(a.divisors, m);
    const int h = p.ph + pixel.hi * g.stride_h, w = p.pw + pixel.wi * g.stride_w;
    return ((static_cast<long long>(pixel.n) * g.H + h) * g.W + w) * g.C;
  }
  __device__ __forceinline__ void store(long long row, int c, float value) const {
    if (accumulate) value += to_float(dx[row + c]);
    dx[row + c] = from_float<T>(value);
  }
  __device__ __forceinline__ void store_vector(long long row, int c,
                                               const float (&values)[16 / sizeof(T)]) const {
    constexpr int V = 16 / sizeof(T);
    if (!accumulate) {
      store_from_f32<V>(dx + row + c, values);
      return;
    }
    float sum[V];
    load_as_f32<V>(dx + row + c, sum);
    for (int e = 0; e < V; ++e) sum[e] += values[e];
    store_from_f32<V>(dx + row + c, sum);
  }
  // The tensors store_gradient_vector reads at a vector, loaded ahead of it (the epilogue
  // issues a batch of a thread's vectors' loads before their first store).
  struct GradientInputs {
    uint4 before, relu, input;  // dx (accumulate), relu_output (if any), bn_input
  };
  __device__ __forceinline__ void load_gradient_inputs(long long row, int c,
                                                       GradientInputs& in) const {
    in.input = load_vector16_readonly(bn_input + row + c);
    if (relu_output != nullptr && relu_affine == nullptr)
      in.relu = load_vector16_readonly(relu_output + row + c);
    if (accumulate) in.before = load_vector16(dx + row + c);
  }
  // store_vector's value masked by the ReLU (g, what the BatchNorm's unfused backward would
  // compute from the stored dx: the same bits), returned rounded as stored, with bn_input.
  __device__ __forceinline__ void store_gradient_vector(long long row, int c,
                                                        const float (&values)[16 / sizeof(T)],
                                                        const GradientInputs& in,
                                                        float (&g)[16 / sizeof(T)],
                                                        float (&x)[16 / sizeof(T)]) const {
    constexpr int V = 16 / sizeof(T);
    for (int e = 0; e < V; ++e) g[e] = values[e];
    if (accumulate) {
      float before[V];
      unpack_vector16<T>(in.before, before);
      for (int e = 0; e < V; ++e) g[e] += before[e];
    }
    unpack_vector16<T>(in.input, x);
    if (relu_affine != nullptr) {
      // The forward's y = max(x scale + shift, 0) rounded to T, as the BatchNorm stored it;
      // the coefficients loaded per vector (L1 hits: a thread's columns are fixed).
      for (int e = 0; e < V; e += 4) {
        float scale[4], shift[4];
        load_four_floats(relu_affine + c + e, scale);
        load_four_floats(relu_affine + gemm_n + c + e, shift);
        for (int k = 0; k < 4; ++k) {
          const float y =
              to_float(from_float<T>(relu_value(batch_norm_affine(x[e + k], scale[k], shift[k]))));
          g[e + k] = relu_backward_mask(y, g[e + k]);
        }
      }
    } else if (relu_output != nullptr) {
      float y[V];
      unpack_vector16<T>(in.relu, y);
      for (int e = 0; e < V; ++e) g[e] = relu_backward_mask(y[e], g[e]);
    }
    for (int e = 0; e < V; ++e) g[e] = to_float(from_float<T>(g[e]));
    store_from_f32<V>(dx + row + c, g);
  }
};

// The BatchNorm whose backward sums the epilogue computes (conv2d_kernels.h); partials null:
// none.
template <typename T>
struct BatchNormGradient {
  const T* relu_output = nullptr;
  const T* bn_input = nullptr;
  const float* bn_mean = nullptr;
  float* partials = nullptr;
  const float* relu_affine = nullptr;
};

template <typename T>
void backward_data(const Conv2dShape& shape, const T* dy, const T* w, T* dx, cudaStream_t stream,
                   const Conv2dKernelOptions& options, bool accumulate,
                   const BatchNormGradient<T>& batch_norm = {}) {
  check_shape(shape, "conv2d_backward_data");
  const Conv2dGemmPlan plan = conv2d_gemm_plan(Conv2dPass::backward_data, shape, options);
  SOMBRERO_CHECK(plan.gemm_m < (1ll << 31) && plan.gemm_k < (1ll << 31),
                 "conv2d_backward_data: the problem is too large for 32-bit GEMM indices");
  const Geometry g = make_geometry(shape);
  constexpr int V = 16 / static_cast<int>(sizeof(T));
  const bool vectorized = g.K % V == 0 && g.C % V == 0 && aligned16(dy) && aligned16(w);
  const int partial_tile_rows = conv2d_gradient_partials_tile_rows(shape, options);
  long long partial_tiles = 0;  // statistics tiles of the phases before this one
  if (batch_norm.partials != nullptr)
    SOMBRERO_CHECK(
        (std::is_same_v<T, __nv_bfloat16>)&&g.C % V == 0 && aligned16(dx) &&
            aligned16(batch_norm.bn_input) &&
            (batch_norm.relu_output == nullptr || aligned16(batch_norm.relu_output)) &&
            aligned16(batch_norm.relu_affine) && batch_norm.bn_mean != nullptr,
        "conv2d_backward_data_with_batch_norm: needs bf16, C a multiple of 8 and 16-byte aligned "
        "dx, relu_output, bn_input and relu_affine (conv2d_gradient_partials_fusable)");
  for (int ph = 0; ph < g.stride_h; ++ph)
    for (int pw = 0; pw < g.stride_w; ++pw) {
      Phase p{ph,
              pw,
              ph < g.H ? (g.H - ph + g.stride_h - 1) / g.stride_h : 0,
              pw < g.W ? (g.W - pw + g.stride_w - 1) / g.stride_w : 0,
              phase_taps(ph, g.pad_top, g.dilation_h, g.stride_h, g.R),
              phase_taps(pw, g.pad_left, g.dilation_w, g.stride_w, g.S),
              0,
              0,
              0,
              0};
      if (p.rows_h == 0 || p.rows_w == 0) continue;
      const int M = g.N * p.rows_h * p.rows_w;
      const int depth = p.taps_h.count * p.taps_w.count * g.K;
      // Exact divisions (the first tap lands); meaningless and unused when no tap lands.
      p.oh_base = (ph + g.pad_top - p.taps_h.first * g.dilation_h) / g.stride_h;
      p.ow_base = (pw + g.pad_left - p.taps_w.first * g.dilation_w) / g.stride_w;
      p.oh_step = g.dilation_h / std::gcd(g.stride_h, g.dilation_h);
      p.ow_step = g.dilation_w / std::gcd(g.stride_w, g.dilation_w);
      if (p.taps_w.count == 0) p.taps_w.count = 1;  // depth is 0 anyway; divisors are >= 1
      const PhaseDivisors divisors{FastDivmod(g.K), FastDivmod(p.taps_w.count),
                                   FastDivmod(p.rows_w), FastDivmod(p.rows_h)};
      const BackwardDataProblem<T> problem{{g, p, divisors, dy, M, depth},
                                           {g, p, divisors, w, depth},
                                           M,
                                           g.C,
                                           depth,
                                           dx,
                                           g.C % V == 0 && aligned16(dx),
                                           accumulate,
                                           batch_norm.partials,
                                           batch_norm.relu_output,
                                           batch_norm.bn_input,
                                           batch_norm.bn_mean,
                                           partial_tiles,
                                           batch_norm.relu_affine};
      launch(problem, plan.large_tile, vectorized, 1, 0, stream, plan.warpgroup, plan.wgmma_tile);
      partial_tiles += (M + partial_tile_rows - 1) / partial_tile_rows;
    }
}

}  // namespace
}  // namespace conv_igemm

void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* w, float* dx,
                          cudaStream_t stream, const Conv2dKernelOptions& options,
                          bool accumulate) {
  conv_igemm::backward_data(shape, dy, w, dx, stream, options, accumulate);
}

void conv2d_backward_data(const Conv2dShape& shape, const bf16* dy, const bf16* w, bf16* dx,
                          cudaStream_t stream, const Conv2dKernelOptions& options,
                          bool accumulate) {
  conv_igemm::backward_data(shape, device_bf16(dy), device_bf16(w), device_bf16(dx), stream,
                            options, accumulate);
}

void conv2d_backward_data_with_batch_norm(const Conv2dShape& shape, const bf16* dy, const bf16* w,
                                          bf16* dx, const bf16* relu_output, const bf16* bn_input,
                                          const float* bn_mean, float* partials,
                                          cudaStream_t stream, const Conv2dKernelOptions& options,
                                          bool accumulate, const float* relu_affine) {
  SOMBRERO_CHECK(partials != nullptr, "conv2d_backward_data_with_batch_norm: partials is null");
  conv_igemm::backward_data(
      shape, device_bf16(dy), device_bf16(w), device_bf16(dx), stream, options, accumulate,
      conv_igemm::BatchNormGradient<__nv_bfloat16>{device_bf16(relu_output), device_bf16(bn_input),
                                                   bn_mean, partials, relu_affine});
}

}  // namespace sombrero::kernels::SOMBRERO_EXEC
