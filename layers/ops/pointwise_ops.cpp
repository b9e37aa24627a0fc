#include "layers/ops/pointwise_ops.h"

#include <cstdint>

#include "layers/ops/dispatch.h"
#include "runtime/error.h"

namespace sombrero::layers::ops {

namespace {

// Same device and dtype, same number of elements; the cpu backend takes f32 only.
void check_elementwise(const char* op, std::initializer_list<NamedTensor> tensors) {
  check_same_device(op, tensors);
  const Tensor& first = *tensors.begin()->tensor;
  check_dtype(op, first.dtype(), tensors);
  check_cpu_backend_f32(op, first);
  for (const NamedTensor& t : tensors)
    SOMBRERO_CHECK(t.tensor->numel() == first.numel(), op, ": ", t.name, " has shape ",
                   to_string(t.tensor->shape()), ", expected ", first.numel(), " elements as ",
                   to_string(first.shape()));
}

// [rows, channels] of an activation whose last dimension is the bias's channels.
std::int64_t bias_rows(const char* op, const Tensor& activation, const Tensor& bias) {
  check_same_device(op, {{"activation", &activation}, {"bias", &bias}});
  check_dtype(op, DType::f32, {{"bias", &bias}});
  check_cpu_backend_f32(op, activation);
  const std::int64_t channels = bias.numel();
  SOMBRERO_CHECK(activation.rank() >= 1 && activation.dim(activation.rank() - 1) == channels, op,
                 ": activation ", to_string(activation.shape()), " does not end in the bias's ",
                 channels, " channels");
  return activation.numel() / channels;
}

}  // namespace

void relu_forward(const Tensor& x, Tensor& y) {
  check_elementwise("relu_forward", {{"x", &x}, {"y", &y}});
  if (x.is_cpu()) {
    kernels::cpu::relu_forward(x.numel(), x.data<float>(), y.data<float>());
    return;
  }
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(x.device(), relu_forward, x.numel(), x.data<T>(), y.data<T>(),
                           x.stream());
  });
}

void relu_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  check_elementwise("relu_backward", {{"y", &y}, {"dy", &dy}, {"dx", &dx}});
  if (y.is_cpu()) {
    kernels::cpu::relu_backward(y.numel(), y.data<float>(), dy.data<float>(), dx.data<float>());
    return;
  }
  with_element_type(y.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(y.device(), relu_backward, y.numel(), y.data<T>(), dy.data<T>(),
                           dx.data<T>(), y.stream());
  });
}

void add(const Tensor& a, const Tensor& b, Tensor& y) {
  check_elementwise("add", {{"a", &a}, {"b", &b}, {"y", &y}});
  if (a.is_cpu()) {
    kernels::cpu::add(a.numel(), a.data<float>(), b.data<float>(), y.data<float>());
    return;
  }
  with_element_type(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(a.device(), add, a.numel(), a.data<T>(), b.data<T>(), y.data<T>(),
                           a.stream());
  });
}

void add_inplace(const Tensor& x, Tensor& y) {
  check_elementwise("add_inplace", {{"x", &x}, {"y", &y}});
  if (x.is_cpu()) {
    kernels::cpu::add_inplace(x.numel(), x.data<float>(), y.data<float>());
    return;
  }
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(x.device(), add_inplace, x.numel(), x.data<T>(), y.data<T>(),
                           x.stream());
  });
}

void bias_add(const Tensor& bias, Tensor& y) {
  const std::int64_t rows = bias_rows("bias_add", y, bias);
  const int channels = int(bias.numel());
  if (y.is_cpu()) {
    kernels::cpu::bias_add(rows, channels, bias.data<float>(), y.data<float>());
    return;
  }
  with_element_type(y.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(y.device(), bias_add, rows, channels, bias.data<float>(), y.data<T>(),
                           y.stream());
  });
}

void bias_backward(const Tensor& dy, Tensor& dbias) {
  const std::int64_t rows = bias_rows("bias_backward", dy, dbias);
  const int channels = int(dbias.numel());
  if (dy.is_cpu()) {
    kernels::cpu::bias_backward(rows, channels, dy.data<float>(), dbias.data<float>());
    return;
  }
  Tensor workspace = workspace_floats(dy, kernels::bias_backward_workspace_floats(rows, channels));
  float* scratch = workspace.defined() ? workspace.data<float>() : nullptr;
  with_element_type(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(dy.device(), bias_backward, rows, channels, dy.data<T>(),
                           dbias.data<float>(), scratch, dy.stream());
  });
}

namespace {

void check_channel_pad(const char* op, const kernels::ChannelPadShape& s, const Tensor& input,
                       const Tensor& output) {
  check_same_device(op, {{"input", &input}, {"output", &output}});
  check_dtype(op, input.dtype(), {{"input", &input}, {"output", &output}});
  check_cpu_backend_f32(op, input);
  const runtime::Shape in{s.batch, s.in_height, s.in_width, s.in_channels};
  const runtime::Shape out{s.batch, s.out_height(), s.out_width(), s.out_channels};
  SOMBRERO_CHECK(s.stride >= 1 && s.out_channels >= s.in_channels &&
                     (s.front < 0 ? (s.out_channels - s.in_channels) % 2 == 0
                                  : s.front + s.in_channels <= s.out_channels),
                 op, ": invalid geometry ", to_string(in), " -> ", to_string(out), ", stride ",
                 s.stride);
  SOMBRERO_CHECK(input.shape() == in && output.shape() == out, op, ": tensors ",
                 to_string(input.shape()), " -> ", to_string(output.shape()), ", expected ",
                 to_string(in), " -> ", to_string(out));
}

}  // namespace

void channel_pad_subsample_forward(const kernels::ChannelPadShape& shape, const Tensor& x,
                                   Tensor& y) {
  check_channel_pad("channel_pad_subsample_forward", shape, x, y);
  if (x.is_cpu()) {
    kernels::cpu::channel_pad_subsample_forward(shape, x.data<float>(), y.data<float>());
    return;
  }
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(x.device(), channel_pad_subsample_forward, shape, x.data<T>(),
                           y.data<T>(), x.stream());
  });
}

void channel_pad_subsample_backward(const kernels::ChannelPadShape& shape, const Tensor& dy,
                                    Tensor& dx) {
  check_channel_pad("channel_pad_subsample_backward", shape, dx, dy);
  if (dy.is_cpu()) {
    kernels::cpu::channel_pad_subsample_backward(shape, dy.data<float>(), dx.data<float>());
    return;
  }
  with_element_type(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(dy.device(), channel_pad_subsample_backward, shape, dy.data<T>(),
                           dx.data<T>(), dy.stream());
  });
}

}  // namespace sombrero::layers::ops
