#include "layers/conv_ops.h"

#include "kernels/conv/conv2d_cpu.h"

namespace sombrero::layers::ops {

void conv2d_forward(const Context&, const kernels::Conv2dShape& shape, const Tensor& x,
                    const Tensor& w, Tensor& y) {
  kernels::cpu::conv2d_forward(shape, x.data<float>(), w.data<float>(), y.data<float>());
}

void conv2d_backward_data(const Context&, const kernels::Conv2dShape& shape, const Tensor& dy,
                          const Tensor& w, Tensor& dx) {
  kernels::cpu::conv2d_backward_data(shape, dy.data<float>(), w.data<float>(), dx.data<float>());
}

void conv2d_backward_filter_accumulate(const Context&, const kernels::Conv2dShape& shape,
                                       const Tensor& x, const Tensor& dy, Tensor& dw) {
  kernels::cpu::conv2d_backward_filter(shape, x.data<float>(), dy.data<float>(), dw.data<float>(),
                                       /*accumulate=*/true);
}

}  // namespace sombrero::layers::ops
