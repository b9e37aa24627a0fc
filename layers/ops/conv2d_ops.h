// The convolution operations the layers call. cpu and cuda go through the Tensor-level op of
// kernels/conv/conv2d.h (CPU backend; hand-written kernels or cuDNN by Context::conv_algo);
// simt runs the hand-written kernels' .cu sources on the CPU (cuDNN has no simt execution,
// so algo cudnn is refused there). dw is f32 also for bf16 activations (master weights).
#pragma once

#include <cstdint>

#include "kernels/conv/conv2d_shape.h"
#include "layers/context.h"
#include "runtime/tensor.h"

namespace sombrero::layers::ops {

void conv2d_forward(const Context& ctx, const kernels::Conv2dShape& shape, const Tensor& x,
                    const Tensor& w, Tensor& y);
void conv2d_backward_data(const Context& ctx, const kernels::Conv2dShape& shape, const Tensor& dy,
                          const Tensor& w, Tensor& dx);
// dx += the input gradient: in the hand-written kernels' epilogue (cuda, simt), else through a
// temporary and an add (cpu backend, cuDNN).
void conv2d_backward_data_accumulate(const Context& ctx, const kernels::Conv2dShape& shape,
                                     const Tensor& dy, const Tensor& w, Tensor& dx);
// y = conv(x, w) and, in `statistics`, the per-row-tile sums and centred sums of squares of y
// for a BatchNorm that follows (kernels/conv/conv2d_kernels.h): returns false, doing nothing,
// where that fusion does not exist (cpu, cuDNN, f32, K not a multiple of 8, unaligned y).
// tile_rows receives the tiles' height.
bool conv2d_forward_with_statistics(const Context& ctx, const kernels::Conv2dShape& shape,
                                    const Tensor& x, const Tensor& w, Tensor& y, Tensor& statistics,
                                    int& tile_rows);
// dx = the input gradient masked by a BatchNorm's ReLU and, in `partials`, that BatchNorm's
// per-tile backward sums (kernels/conv/conv2d_kernels.h, conv2d_backward_data_with_batch_norm):
// relu_output is this convolution's input, the output of the BatchNorm + ReLU whose input is
// bn_input and batch mean bn_mean. Returns false, doing nothing, where that fusion does not
// exist (cpu, cuDNN, f32, C not a multiple of 8, unaligned tensors); tiles receives the number
// of tiles. accumulate: dx holds a gradient already (a residual block's shortcut's), which the
// input gradient is added to before the mask. relu_affine (nullptr: none): the BatchNorm
// forward's [scale | shift] (batch_norm_forward_training's `affine`), from which the mask is
// recomputed out of bn_input instead of read from relu_output.
bool conv2d_backward_data_with_batch_norm(const Context& ctx, const kernels::Conv2dShape& shape,
                                          const Tensor& dy, const Tensor& w, Tensor& dx,
                                          const Tensor& relu_output, const Tensor& bn_input,
                                          const Tensor& bn_mean, Tensor& partials,
                                          std::int64_t& tiles, bool accumulate = false,
                                          const Tensor* relu_affine = nullptr);
// dw += the filter gradient.
void conv2d_backward_filter_accumulate(const Context& ctx, const kernels::Conv2dShape& shape,
                                       const Tensor& x, const Tensor& dy, Tensor& dw);

}  // namespace sombrero::layers::ops
