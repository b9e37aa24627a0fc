// The Conv2d op over Tensors: what layers call. Checks shapes, dtypes and devices, then
// dispatches by device and algorithm:
//   cpu                 -> kernels::cpu (im2col + OpenBLAS; f32 only, any algo)
//   cuda, algo = hand   -> kernels::cuda, the hand-written implicit-GEMM kernels
//   cuda, algo = cudnn  -> kernels::cudnn (builds with cuDNN only)
// Layouts: x, dx [N, H, W, C]; w, dw [K, R, S, C]; y, dy [N, OH, OW, K]. All tensors of one
// call are on one device and share one dtype (f32 or bf16; bf16 on CUDA only), except dw,
// which is always f32: the gradient of the f32 master weights, summed over N*OH*OW terms
// that bf16 would round away. CUDA calls are asynchronous on the tensors' stream
// (runtime/cuda_context.h); CPU calls return when done.
//
//   Conv2dParams params = Conv2dParams::same(3, 1);    // 3x3, stride 1, pad 1
//   Tensor y = Tensor::empty(conv2d_output_shape(x.shape(), w.shape(), params), x.dtype(),
//                            x.device());
//   conv2d_forward(x, w, y, params);
#pragma once

#include <string>

#include "kernels/conv/conv2d_kernels.h"
#include "kernels/conv/conv2d_shape.h"
#include "runtime/tensor.h"

namespace sombrero::kernels {

using runtime::Shape;

// Which CUDA implementation runs a convolution (`conv.algo` in run configs). The CPU has one
// backend and uses it for all. wgmma: the hand-written kernels on Hopper's warpgroup MMA
// (Conv2dTile::warpgroup: bf16, all three passes; needs an H100/H200 and an sm_90a build;
// the simt device emulates it); f32 runs as hand.
enum class ConvAlgo { hand, wgmma, cudnn };

// "hand" | "wgmma" | "cudnn"; anything else throws sombrero::Error with a "did you mean".
ConvAlgo parse_conv_algo(const std::string& name);
// As parse_conv_algo, plus "auto" (the default of conv.algo and --algo): wgmma where it can
// run (bf16 on a CUDA device of compute capability 9.0 with an sm_90a build: faster on an
// H200, docs/conv.md), else hand. Resolved once, before training, so the kernels' choices
// (and with them the summation order) stay a function of the shape and the options.
ConvAlgo choose_conv_algo(const std::string& name, const runtime::Device& device, bool bf16);
const char* to_string(ConvAlgo algo);
// hand and wgmma: the hand-written kernels, with these options.
inline bool is_hand_written(ConvAlgo algo) {
  return algo != ConvAlgo::cudnn;
}
// wgmma: Conv2dTile::warpgroup, its shape from the environment variable SOMBRERO_WGMMA_TILE
// (a tuning knob for benchmarks: auto, m128_sync, m128_async, m256_async, n64_sync or
// m64_sync; read once; a shape a pass cannot take falls back as conv2d_gemm_plan says).
Conv2dKernelOptions kernel_options(ConvAlgo algo);
// "auto" (or empty) | "m128_sync" | "m128_async" | "m256_async" | "n64_sync" | "m64_sync";
// else a clear error.
Conv2dWgmmaTile parse_wgmma_tile(const std::string& name);

struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1;
  ConvAlgo algo = ConvAlgo::hand;

  // Square stride and the same zero padding on all four sides.
  static Conv2dParams symmetric(int stride, int pad, ConvAlgo algo = ConvAlgo::hand);
  // A kernel of odd size k with "same"-style padding k / 2 (ResNet's convolutions).
  static Conv2dParams same(int kernel, int stride, ConvAlgo algo = ConvAlgo::hand);
  // The stride, padding and dilation of a geometry (kernels/conv/conv2d_shape.h).
  static Conv2dParams of(const Conv2dShape& shape, ConvAlgo algo = ConvAlgo::hand);
};

// The geometry of x [N,H,W,C] convolved with w [K,R,S,C] under `params`; throws when the
// ranks or channels disagree or the output would be empty (as PyTorch refuses).
Conv2dShape conv2d_shape(const Shape& x, const Shape& w, const Conv2dParams& params);
// [N, OH, OW, K].
Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& params);

// y = conv(x, w). Overwrites y.
void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& params);

// dx = the gradient of sum(y * dy) with respect to x. The input size is dx's (several input
// sizes give the same output size under a stride). Overwrites dx.
void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                          const Conv2dParams& params);

// dw (+)= the gradient of sum(y * dy) with respect to w, summed over the batch;
// accumulate = false overwrites dw, true adds to it. dw is f32 for f32 and bf16 x, dy.
void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                            const Conv2dParams& params, bool accumulate);

// Whether the hand-written CUDA kernels are built into this binary (false while they are
// being written, and in builds without CUDA); algo = hand on CUDA then throws.
bool hand_conv2d_available();

}  // namespace sombrero::kernels
