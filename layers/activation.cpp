#include "layers/activation.h"

#include "kernels/pointwise/pointwise.h"
#include "runtime/error.h"

namespace sombrero::layers {

Tensor ReLU::forward(const Context& ctx, const Tensor& x) {
  SOMBRERO_CHECK(x.defined() && x.is_cpu() && x.dtype() == runtime::DType::f32,
                 "ReLU: the CPU backend takes a defined f32 cpu tensor");
  Tensor y = Tensor::empty(x.shape());
  kernels::cpu::relu_forward(x.numel(), x.data<float>(), y.data<float>());
  cached_output_ = ctx.training ? y : Tensor();
  return y;
}

Tensor ReLU::backward(const Context&, const Tensor& dy) {
  check_cached(cached_output_, "ReLU");
  SOMBRERO_CHECK(dy.shape() == cached_output_.shape(), "ReLU: output gradient has shape ",
                 to_string(dy.shape()), ", expected ", to_string(cached_output_.shape()));
  Tensor dx = Tensor::empty(dy.shape());
  kernels::cpu::relu_backward(dy.numel(), cached_output_.data<float>(), dy.data<float>(),
                              dx.data<float>());
  cached_output_ = Tensor();
  return dx;
}

}  // namespace sombrero::layers
