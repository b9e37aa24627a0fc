// The pooling operations the layers call (math in kernels/pool/pool.h), over NHWC Tensors on
// any device (dispatch.h): cpu -> the CPU backend (f32), cuda and simt -> the hand-written
// kernels of pool.cu (f32 or bf16). The max-pool argmax is a DeviceArray of window taps (one
// byte each, kernels::PoolArgmax) on the activations' device. Backward passes overwrite dx.
#pragma once

#include <cstdint>

#include "kernels/pool/pool.h"
#include "runtime/device_array.h"
#include "runtime/tensor.h"

namespace sombrero::layers::ops {

// argmax: y.numel() elements on y's device (allocated by the caller).
void max_pool2d_forward(const kernels::Pool2dShape& shape, const Tensor& x, Tensor& y,
                        runtime::DeviceArray<kernels::PoolArgmax>& argmax);
void max_pool2d_backward(const kernels::Pool2dShape& shape, const Tensor& dy,
                         const runtime::DeviceArray<kernels::PoolArgmax>& argmax, Tensor& dx);
void avg_pool2d_forward(const kernels::Pool2dShape& shape, const Tensor& x, Tensor& y);
void avg_pool2d_backward(const kernels::Pool2dShape& shape, const Tensor& dy, Tensor& dx);
// x [N, H, W, C] -> y [N, C], and back.
void global_avg_pool_forward(const Tensor& x, Tensor& y);
void global_avg_pool_backward(const Tensor& dy, Tensor& dx);

}  // namespace sombrero::layers::ops
