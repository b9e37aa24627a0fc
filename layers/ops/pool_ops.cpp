#include "layers/ops/pool_ops.h"

#include <cstdint>

#include "layers/ops/dispatch.h"
#include "runtime/error.h"

namespace sombrero::layers::ops {

namespace {

runtime::Shape pool_input_shape(const kernels::Pool2dShape& s) {
  return {s.batch, s.in_height, s.in_width, s.channels};
}
runtime::Shape pool_output_shape(const kernels::Pool2dShape& s) {
  return {s.batch, s.out_height(), s.out_width(), s.channels};
}

// input / output: the forward's x / y shapes (for backward, dx / dy).
void check_pool(const char* op, const kernels::Pool2dShape& s, const Tensor& input,
                const Tensor& output) {
  check_same_device(op, {{"input", &input}, {"output", &output}});
  check_dtype(op, input.dtype(), {{"input", &input}, {"output", &output}});
  check_cpu_backend_f32(op, input);
  kernels::check_pool2d_shape(s);
  SOMBRERO_CHECK(input.shape() == pool_input_shape(s) && output.shape() == pool_output_shape(s), op,
                 ": tensors ", to_string(input.shape()), " -> ", to_string(output.shape()),
                 ", expected ", to_string(pool_input_shape(s)), " -> ",
                 to_string(pool_output_shape(s)));
}

void check_argmax(const char* op, const Tensor& pooled,
                  const runtime::DeviceArray<kernels::PoolArgmax>& argmax) {
  SOMBRERO_CHECK(argmax.defined() && argmax.size() == std::size_t(pooled.numel()) &&
                     argmax.device() == pooled.device(),
                 op, ": argmax needs ", pooled.numel(), " indices on ", to_string(pooled.device()),
                 ", got ", argmax.size(), " on ", to_string(argmax.device()));
}

void check_global(const char* op, const Tensor& image, const Tensor& pooled) {
  check_same_device(op, {{"image", &image}, {"pooled", &pooled}});
  check_dtype(op, image.dtype(), {{"image", &image}, {"pooled", &pooled}});
  check_cpu_backend_f32(op, image);
  SOMBRERO_CHECK(image.rank() == 4, op, ": image ", to_string(image.shape()), " is not NHWC");
  const runtime::Shape expected{image.dim(0), image.dim(3)};
  SOMBRERO_CHECK(pooled.shape() == expected, op, ": pooled tensor ", to_string(pooled.shape()),
                 ", expected ", to_string(expected), " for image ", to_string(image.shape()));
}

}  // namespace

void max_pool2d_forward(const kernels::Pool2dShape& shape, const Tensor& x, Tensor& y,
                        runtime::DeviceArray<kernels::PoolArgmax>& argmax) {
  check_pool("max_pool2d_forward", shape, x, y);
  check_argmax("max_pool2d_forward", y, argmax);
  if (x.is_cpu()) {
    kernels::cpu::max_pool2d_forward(shape, x.data<float>(), y.data<float>(), argmax.data());
    return;
  }
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(x.device(), max_pool2d_forward, shape, x.data<T>(), y.data<T>(),
                           argmax.data(), x.stream());
  });
}

void max_pool2d_backward(const kernels::Pool2dShape& shape, const Tensor& dy,
                         const runtime::DeviceArray<kernels::PoolArgmax>& argmax, Tensor& dx) {
  check_pool("max_pool2d_backward", shape, dx, dy);
  check_argmax("max_pool2d_backward", dy, argmax);
  if (dy.is_cpu()) {
    kernels::cpu::max_pool2d_backward(shape, dy.data<float>(), argmax.data(), dx.data<float>());
    return;
  }
  with_element_type(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(dy.device(), max_pool2d_backward, shape, dy.data<T>(), argmax.data(),
                           dx.data<T>(), dy.stream());
  });
}

void avg_pool2d_forward(const kernels::Pool2dShape& shape, const Tensor& x, Tensor& y) {
  check_pool("avg_pool2d_forward", shape, x, y);
  if (x.is_cpu()) {
    kernels::cpu::avg_pool2d_forward(shape, x.data<float>(), y.data<float>());
    return;
  }
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(x.device(), avg_pool2d_forward, shape, x.data<T>(), y.data<T>(),
                           x.stream());
  });
}

void avg_pool2d_backward(const kernels::Pool2dShape& shape, const Tensor& dy, Tensor& dx) {
  check_pool("avg_pool2d_backward", shape, dx, dy);
  if (dy.is_cpu()) {
    kernels::cpu::avg_pool2d_backward(shape, dy.data<float>(), dx.data<float>());
    return;
  }
  with_element_type(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(dy.device(), avg_pool2d_backward, shape, dy.data<T>(), dx.data<T>(),
                           dy.stream());
  });
}

void global_avg_pool_forward(const Tensor& x, Tensor& y) {
  check_global("global_avg_pool_forward", x, y);
  const int batch = int(x.dim(0)), pixels = int(x.dim(1) * x.dim(2)), channels = int(x.dim(3));
  if (x.is_cpu()) {
    kernels::cpu::global_avg_pool_forward(batch, pixels, channels, x.data<float>(),
                                          y.data<float>());
    return;
  }
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(x.device(), global_avg_pool_forward, batch, pixels, channels,
                           x.data<T>(), y.data<T>(), x.stream());
  });
}

void global_avg_pool_backward(const Tensor& dy, Tensor& dx) {
  check_global("global_avg_pool_backward", dx, dy);
  const int batch = int(dx.dim(0)), pixels = int(dx.dim(1) * dx.dim(2)), channels = int(dx.dim(3));
  if (dy.is_cpu()) {
    kernels::cpu::global_avg_pool_backward(batch, pixels, channels, dy.data<float>(),
                                           dx.data<float>());
    return;
  }
  with_element_type(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(dy.device(), global_avg_pool_backward, batch, pixels, channels,
                           dy.data<T>(), dx.data<T>(), dy.stream());
  });
}

}  // namespace sombrero::layers::ops
