#include "layers/ops/conv2d_ops.h"

#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv2d_kernels.h"
#include "layers/ops/dispatch.h"
#include "layers/ops/pointwise_ops.h"
#include "runtime/error.h"

namespace sombrero::layers::ops {

namespace {

kernels::Conv2dParams params_of(const Context& ctx, const kernels::Conv2dShape& s) {
  return kernels::Conv2dParams::of(s, ctx.conv_algo);
}

// A direct call of the hand-written kernels (the simt device, or a fused cuda path): the
// checks of the Tensor-level op.
void check_hand_kernel_call(const char* op, const Context& ctx, const kernels::Conv2dShape& s,
                            std::initializer_list<NamedTensor> activations, const runtime::Shape& x,
                            const runtime::Shape& w, const runtime::Shape& y) {
  SOMBRERO_CHECK(kernels::is_hand_written(ctx.conv_algo), op,
                 ": conv.algo cudnn has no simt execution (cuDNN runs on a GPU only); use "
                 "conv.algo: hand (or wgmma)");
  check_same_device(op, activations);
  check_dtype(op, activations.begin()->tensor->dtype(), activations);
  const kernels::Conv2dParams p = params_of(ctx, s);
  SOMBRERO_CHECK(kernels::conv2d_output_shape(x, w, p) == y, op, ": shapes ", to_string(x), " * ",
                 to_string(w), " do not give ", to_string(y));
}

}  // namespace

void conv2d_forward(const Context& ctx, const kernels::Conv2dShape& shape, const Tensor& x,
                    const Tensor& w, Tensor& y) {
  if (!x.device().is_simt()) {
    kernels::conv2d_forward(x, w, y, params_of(ctx, shape));
    return;
  }
  check_hand_kernel_call("conv2d_forward", ctx, shape, {{"x", &x}, {"w", &w}, {"y", &y}}, x.shape(),
                         w.shape(), y.shape());
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    kernels::simt::conv2d_forward(shape, x.data<T>(), w.data<T>(), y.data<T>(), nullptr,
                                  kernels::kernel_options(ctx.conv_algo));
  });
}

bool conv2d_forward_with_statistics(const Context& ctx, const kernels::Conv2dShape& shape,
                                    const Tensor& x, const Tensor& w, Tensor& y, Tensor& statistics,
                                    int& tile_rows) {
  if (x.is_cpu() || !kernels::is_hand_written(ctx.conv_algo) ||
      !kernels::conv2d_statistics_fusable(shape, x.dtype() == DType::bf16, y.raw_data()))
    return false;
  check_hand_kernel_call("conv2d_forward", ctx, shape, {{"x", &x}, {"w", &w}, {"y", &y}}, x.shape(),
                         w.shape(), y.shape());
  const kernels::Conv2dKernelOptions options = kernels::kernel_options(ctx.conv_algo);
  statistics =
      Tensor::empty({kernels::conv2d_statistics_floats(shape, options)}, DType::f32, x.device());
  tile_rows = kernels::conv2d_statistics_tile_rows(shape, options);
  SOMBRERO_DEVICE_KERNEL(x.device(), conv2d_forward_with_statistics, shape, x.data<bf16>(),
                         w.data<bf16>(), y.data<bf16>(), statistics.data<float>(), x.stream(),
                         options);
  return true;
}

bool conv2d_backward_data_with_batch_norm(const Context& ctx, const kernels::Conv2dShape& shape,
                                          const Tensor& dy, const Tensor& w, Tensor& dx,
                                          const Tensor& relu_output, const Tensor& bn_input,
                                          const Tensor& bn_mean, Tensor& partials,
                                          std::int64_t& tiles, bool accumulate,
                                          const Tensor* relu_affine) {
  if (dy.is_cpu() || !kernels::is_hand_written(ctx.conv_algo) ||
      !kernels::conv2d_gradient_partials_fusable(shape, dy.dtype() == DType::bf16, dx.raw_data(),
                                                 relu_output.raw_data(), bn_input.raw_data()))
    return false;
  constexpr const char* op = "conv2d_backward_data_with_batch_norm";
  check_hand_kernel_call(op, ctx, shape, {{"dy", &dy}, {"w", &w}, {"dx", &dx}}, dx.shape(),
                         w.shape(), dy.shape());
  SOMBRERO_CHECK(relu_output.shape() == dx.shape() && bn_input.shape() == dx.shape() &&
                     relu_output.dtype() == DType::bf16 && bn_input.dtype() == DType::bf16,
                 op, ": relu_output ", to_string(relu_output.shape()), " and bn_input ",
                 to_string(bn_input.shape()), " must be bf16 like dx ", to_string(dx.shape()));
  check_same_device(
      op,
      {{"dy", &dy}, {"relu_output", &relu_output}, {"bn_input", &bn_input}, {"bn_mean", &bn_mean}});
  SOMBRERO_CHECK(bn_mean.dtype() == DType::f32 && bn_mean.numel() == shape.in_channels, op,
                 ": bn_mean must hold ", shape.in_channels, " f32 values");
  if (relu_affine != nullptr) {
    check_same_device(op, {{"dy", &dy}, {"relu_affine", relu_affine}});
    SOMBRERO_CHECK(relu_affine->dtype() == DType::f32 &&
                       relu_affine->numel() == 2 * std::int64_t(shape.in_channels),
                   op, ": relu_affine must hold ", 2 * shape.in_channels,
                   " f32 values (scale, then shift)");
  }
  const kernels::Conv2dKernelOptions options = kernels::kernel_options(ctx.conv_algo);
  tiles = kernels::conv2d_gradient_partials_tiles(shape, options);
  partials = Tensor::empty({2 * tiles * shape.in_channels}, DType::f32, dy.device());
  SOMBRERO_DEVICE_KERNEL(dy.device(), conv2d_backward_data_with_batch_norm, shape, dy.data<bf16>(),
                         w.data<bf16>(), dx.data<bf16>(), relu_output.data<bf16>(),
                         bn_input.data<bf16>(), bn_mean.data<float>(), partials.data<float>(),
                         dy.stream(), options, accumulate,
                         relu_affine != nullptr ? relu_affine->data<float>() : nullptr);
  return true;
}

void conv2d_backward_data(const Context& ctx, const kernels::Conv2dShape& shape, const Tensor& dy,
                          const Tensor& w, Tensor& dx) {
  if (!dy.device().is_simt()) {
    kernels::conv2d_backward_data(dy, w, dx, params_of(ctx, shape));
    return;
  }
  check_hand_kernel_call("conv2d_backward_data", ctx, shape, {{"dy", &dy}, {"w", &w}, {"dx", &dx}},
                         dx.shape(), w.shape(), dy.shape());
  with_element_type(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    kernels::simt::conv2d_backward_data(shape, dy.data<T>(), w.data<T>(), dx.data<T>(), nullptr,
                                        kernels::kernel_options(ctx.conv_algo));
  });
}

void conv2d_backward_data_accumulate(const Context& ctx, const kernels::Conv2dShape& shape,
                                     const Tensor& dy, const Tensor& w, Tensor& dx) {
  if (dy.is_cpu() || !kernels::is_hand_written(ctx.conv_algo)) {
    Tensor gradient = Tensor::empty(dx.shape(), dx.dtype(), dx.device());
    conv2d_backward_data(ctx, shape, dy, w, gradient);
    add_inplace(gradient, dx);
    return;
  }
  check_hand_kernel_call("conv2d_backward_data", ctx, shape, {{"dy", &dy}, {"w", &w}, {"dx", &dx}},
                         dx.shape(), w.shape(), dy.shape());
  const kernels::Conv2dKernelOptions options = kernels::kernel_options(ctx.conv_algo);
  with_element_type(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(dy.device(), conv2d_backward_data, shape, dy.template data<T>(),
                           w.template data<T>(), dx.template data<T>(), dy.stream(), options,
                           /*accumulate=*/true);
  });
}

void conv2d_backward_filter_accumulate(const Context& ctx, const kernels::Conv2dShape& shape,
                                       const Tensor& x, const Tensor& dy, Tensor& dw) {
  if (!x.device().is_simt()) {
    kernels::conv2d_backward_filter(x, dy, dw, params_of(ctx, shape), /*accumulate=*/true);
    return;
  }
  check_hand_kernel_call("conv2d_backward_filter", ctx, shape, {{"x", &x}, {"dy", &dy}}, x.shape(),
                         dw.shape(), dy.shape());
  check_same_device("conv2d_backward_filter", {{"x", &x}, {"dw", &dw}});
  check_dtype("conv2d_backward_filter", DType::f32, {{"dw", &dw}});
  const kernels::Conv2dKernelOptions options = kernels::kernel_options(ctx.conv_algo);
  const std::size_t bytes = kernels::conv2d_backward_filter_workspace_bytes(shape, options);
  Tensor workspace = workspace_floats(x, (bytes + 3) / 4);
  void* scratch = bytes > 0 ? workspace.raw_data() : nullptr;
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    kernels::simt::conv2d_backward_filter(shape, x.data<T>(), dy.data<T>(), dw.data<float>(),
                                          /*accumulate=*/true, scratch, nullptr, options);
  });
}

}  // namespace sombrero::layers::ops
