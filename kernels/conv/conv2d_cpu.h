// CPU backend of the convolution: im2col / col2im and OpenBLAS sgemm, OpenMP over the
// batch (each image's GEMM single-threaded inside the parallel region). f32 throughout.
// Layouts: x, dx NHWC; w, dw KRSC; y, dy NHWC with K channels.
#pragma once

#include "kernels/conv/conv2d_shape.h"

namespace sombrero::kernels::cpu {

// y = conv(x, w).
void conv2d_forward(const Conv2dShape& shape, const float* x, const float* w, float* y);

// dx = conv_transpose(dy, w): the gradient of sum(y * dy) with respect to x. Overwrites dx.
void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* w, float* dx);

// dw (+)= the gradient of sum(y * dy) with respect to w, summed over the batch.
// accumulate = false overwrites dw; true adds to it.
void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy, float* dw,
                            bool accumulate);

}  // namespace sombrero::kernels::cpu
