// cuDNN convolution: the baseline and cross-check for the hand-written kernels
// (`conv.algo: cudnn`). The one file in sombrero that talks to cuDNN about convolution.
//
// Layouts as everywhere in sombrero: x, dx, y, dy NHWC; w, dw KRSC, which is cuDNN's filter
// layout CUDNN_TENSOR_NHWC ([K, R, S, C]). Data f32 or bf16; accumulation is f32 in both.
// Math: bf16 may use tensor cores (CUDNN_TENSOR_OP_MATH); f32 is true f32 (CUDNN_FMA_MATH,
// no TF32), so an f32 comparison against cuDNN is a comparison against f32 arithmetic.
//
// Algorithms are chosen once per (pass, shape, dtype, device) by cudnnFind*Algorithm, which
// times every applicable algorithm on buffers it allocates itself (user data is untouched,
// so backward-filter with accumulate is safe), and cached for the life of the process. The
// workspace is stream-ordered memory (cudaMallocAsync / cudaFreeAsync on `stream`).
//
// Padding: cuDNN pads symmetrically only. An asymmetric padding (pad_top != pad_bottom or
// pad_left != pad_right) is handled with an explicit zero-padded copy of x (forward,
// backward-filter) or a padded dx that is cropped afterwards (backward-data), both made with
// one cudaMemcpy3DAsync each in stream-ordered memory: correct, at the cost of one extra
// read and write of the activation. Symmetric padding (all ResNet shapes) goes straight
// to cuDNN.
//
// Built only with cuDNN (SOMBRERO_HAVE_CUDNN). Pointers are device pointers on `device`;
// calls are asynchronous on `stream`, except the first call for a new shape, which runs
// cudnnFind (it synchronises the device).
#pragma once

#include <string>

#include "kernels/conv/conv2d_shape.h"
#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels::cudnn {

// y = conv(x, w).
void conv2d_forward(const Conv2dShape& shape, const float* x, const float* w, float* y, int device,
                    cudaStream_t stream);
void conv2d_forward(const Conv2dShape& shape, const bf16* x, const bf16* w, bf16* y, int device,
                    cudaStream_t stream);

// dx = the gradient of sum(y * dy) with respect to x. Overwrites dx.
void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* w, float* dx,
                          int device, cudaStream_t stream);
void conv2d_backward_data(const Conv2dShape& shape, const bf16* dy, const bf16* w, bf16* dx,
                          int device, cudaStream_t stream);

// dw (+)= the gradient of sum(y * dy) with respect to w; accumulate = true adds to dw.
// dw is f32 for bf16 x and dy too (the gradient of f32 master weights, as the hand-written
// kernels give it). cuDNN's legacy API needs one dtype for x, dy and dw, so the bf16 pass
// computes a bf16 dw in stream-ordered memory and widens it (adding it to dw to accumulate):
// its dw carries bf16 rounding (2^-9 relative) that the hand-written kernels do not.
void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy, float* dw,
                            bool accumulate, int device, cudaStream_t stream);
void conv2d_backward_filter(const Conv2dShape& shape, const bf16* x, const bf16* dy, float* dw,
                            bool accumulate, int device, cudaStream_t stream);

// The algorithm cuDNN chose for a pass of a shape ("IMPLICIT_PRECOMP_GEMM, tensor ops,
// workspace 12.0 MiB"), choosing it now if it was not yet; pass is "forward",
// "backward_data" or "backward_filter". For benchmark tables.
std::string conv2d_algorithm_name(const char* pass, const Conv2dShape& shape, bool bf16_data,
                                  int device);

}  // namespace sombrero::kernels::cudnn
