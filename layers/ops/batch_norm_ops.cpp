#include "layers/ops/batch_norm_ops.h"

#include <cstdint>

#include "kernels/norm/batch_norm.h"
#include "layers/ops/dispatch.h"
#include "runtime/error.h"

namespace sombrero::layers::ops {

namespace {

// Checks devices, dtypes and shapes; returns the [rows, channels] view of the activations.
kernels::BatchNormShape check_batch_norm(const char* op,
                                         std::initializer_list<NamedTensor> activations,
                                         std::initializer_list<NamedTensor> statistics) {
  const Tensor& x = *activations.begin()->tensor;
  check_same_device(op, activations);
  for (const NamedTensor& s : statistics) check_same_device(op, {*activations.begin(), s});
  check_dtype(op, x.dtype(), activations);
  check_dtype(op, DType::f32, statistics);
  check_cpu_backend_f32(op, x);
  SOMBRERO_CHECK(x.rank() >= 1, op, ": activations need a channel dimension");
  const std::int64_t channels = x.dim(x.rank() - 1);
  for (const NamedTensor& t : activations)
    SOMBRERO_CHECK(t.tensor->shape() == x.shape(), op, ": ", t.name, " has shape ",
                   to_string(t.tensor->shape()), ", expected ", to_string(x.shape()));
  for (const NamedTensor& s : statistics)
    SOMBRERO_CHECK(s.tensor->numel() == channels, op, ": ", s.name, " has ", s.tensor->numel(),
                   " values, expected one per channel (", channels, ")");
  return kernels::BatchNormShape{x.numel() / channels, int(channels)};
}

// The residual's checks (like x; y must not alias it).
void check_residual(const char* op, const Tensor& x, const Tensor& y, const Tensor* residual) {
  if (residual == nullptr) return;
  check_batch_norm(op, {{"x", &x}, {"residual", residual}}, {});
  SOMBRERO_CHECK(residual->raw_data() != y.raw_data(), op, ": y may not alias the residual");
}

// The residual's elements, or null.
template <typename T>
const T* residual_of(const Tensor* residual) {
  return residual != nullptr ? residual->data<T>() : nullptr;
}

// The CPU backend's residual sum and ReLU after its BatchNorm (y = bn(x) without ReLU):
// y = max?(y + residual, 0) in f32, as the device kernels round it.
void add_residual_on_cpu(const Tensor* residual, Tensor& y, bool relu) {
  float* out = y.data<float>();
  const float* add = residual->data<float>();
  for (std::int64_t i = 0; i < y.numel(); ++i) {
    const float v = out[i] + add[i];
    out[i] = relu && v < 0.0f ? 0.0f : v;  // NaN passes, as torch's ReLU
  }
}

// The coefficients buffer of a device forward (affine: see batch_norm_ops.h), or nullptr.
float* affine_buffer(const Tensor& x, int channels, Tensor* affine) {
  if (affine == nullptr) return nullptr;
  if (!affine->defined() || affine->numel() != 2 * std::int64_t(channels) ||
      affine->dtype() != DType::f32 || affine->device() != x.device())
    *affine = Tensor::empty({2 * std::int64_t(channels)}, DType::f32, x.device());
  return affine->data<float>();
}

}  // namespace

void batch_norm_forward_training(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 float eps, float momentum, Tensor& y, Tensor& running_mean,
                                 Tensor& running_var, Tensor& save_mean, Tensor& save_invstd,
                                 bool relu, const Tensor* residual, Tensor* affine) {
  const kernels::BatchNormShape s =
      check_batch_norm("batch_norm_forward_training", {{"x", &x}, {"y", &y}},
                       {{"gamma", &gamma},
                        {"beta", &beta},
                        {"running_mean", &running_mean},
                        {"running_var", &running_var},
                        {"save_mean", &save_mean},
                        {"save_invstd", &save_invstd}});
  check_residual("batch_norm_forward_training", x, y, residual);
  if (x.is_cpu()) {
    kernels::cpu::batch_norm_forward_training(
        s, x.data<float>(), gamma.data<float>(), beta.data<float>(), eps, momentum, y.data<float>(),
        running_mean.data<float>(), running_var.data<float>(), save_mean.data<float>(),
        save_invstd.data<float>(), relu && residual == nullptr);
    if (residual != nullptr) add_residual_on_cpu(residual, y, relu);
    if (affine != nullptr) *affine = Tensor();
    return;
  }
  Tensor workspace = workspace_floats(x, kernels::batch_norm_workspace_floats(s));
  float* coefficients = affine_buffer(x, s.channels, affine);
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(
        x.device(), batch_norm_forward_training, s, x.data<T>(), gamma.data<float>(),
        beta.data<float>(), eps, momentum, y.data<T>(), running_mean.data<float>(),
        running_var.data<float>(), save_mean.data<float>(), save_invstd.data<float>(),
        workspace.data<float>(), x.stream(), relu, residual_of<T>(residual), coefficients);
  });
}

void batch_norm_forward_training_from_statistics(const Tensor& x, const Tensor& statistics,
                                                 int tile_rows, const Tensor& gamma,
                                                 const Tensor& beta, float eps, float momentum,
                                                 Tensor& y, Tensor& running_mean,
                                                 Tensor& running_var, Tensor& save_mean,
                                                 Tensor& save_invstd, bool relu,
                                                 const Tensor* residual, Tensor* affine) {
  const kernels::BatchNormShape s =
      check_batch_norm("batch_norm_forward_training_from_statistics", {{"x", &x}, {"y", &y}},
                       {{"gamma", &gamma},
                        {"beta", &beta},
                        {"running_mean", &running_mean},
                        {"running_var", &running_var},
                        {"save_mean", &save_mean},
                        {"save_invstd", &save_invstd}});
  constexpr const char* op = "batch_norm_forward_training_from_statistics";
  SOMBRERO_CHECK(!x.is_cpu() && x.dtype() == DType::bf16, op,
                 ": bf16 activations on a device only");
  check_residual(op, x, y, residual);
  check_same_device(op, {{"x", &x}, {"statistics", &statistics}});
  check_dtype(op, DType::f32, {{"statistics", &statistics}});
  const std::int64_t tiles = (s.rows + tile_rows - 1) / std::max(tile_rows, 1);
  SOMBRERO_CHECK(tile_rows > 0 && statistics.numel() == 2 * tiles * s.channels, op, ": ",
                 statistics.numel(), " statistics for ", tiles, " tiles of ", tile_rows,
                 " rows and ", s.channels, " channels, expected ", 2 * tiles * s.channels);
  Tensor workspace = workspace_floats(x, kernels::batch_norm_workspace_floats(s));
  SOMBRERO_DEVICE_KERNEL(
      x.device(), batch_norm_forward_training_from_statistics, s, statistics.data<float>(),
      tile_rows, x.data<bf16>(), gamma.data<float>(), beta.data<float>(), eps, momentum,
      y.data<bf16>(), running_mean.data<float>(), running_var.data<float>(),
      save_mean.data<float>(), save_invstd.data<float>(), workspace.data<float>(), x.stream(), relu,
      residual_of<bf16>(residual), affine_buffer(x, s.channels, affine));
}

void batch_norm_forward_inference(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const Tensor& running_mean, const Tensor& running_var, float eps,
                                  Tensor& y, bool relu, const Tensor* residual) {
  const kernels::BatchNormShape s =
      check_batch_norm("batch_norm_forward_inference", {{"x", &x}, {"y", &y}},
                       {{"gamma", &gamma},
                        {"beta", &beta},
                        {"running_mean", &running_mean},
                        {"running_var", &running_var}});
  check_residual("batch_norm_forward_inference", x, y, residual);
  if (x.is_cpu()) {
    kernels::cpu::batch_norm_forward_inference(
        s, x.data<float>(), gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
        running_var.data<float>(), eps, y.data<float>(), relu && residual == nullptr);
    if (residual != nullptr) add_residual_on_cpu(residual, y, relu);
    return;
  }
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(x.device(), batch_norm_forward_inference, s, x.data<T>(),
                           gamma.data<float>(), beta.data<float>(), running_mean.data<float>(),
                           running_var.data<float>(), eps, y.data<T>(), x.stream(), relu,
                           residual_of<T>(residual));
  });
}

void batch_norm_backward_training(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                                  const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                                  Tensor& dgamma, Tensor& dbeta, const Tensor* relu_output,
                                  Tensor* masked_gradient) {
  const char* op = "batch_norm_backward_training";
  const kernels::BatchNormShape s = check_batch_norm(op, {{"x", &x}, {"dy", &dy}, {"dx", &dx}},
                                                     {{"gamma", &gamma},
                                                      {"save_mean", &save_mean},
                                                      {"save_invstd", &save_invstd},
                                                      {"dgamma", &dgamma},
                                                      {"dbeta", &dbeta}});
  if (relu_output != nullptr) check_batch_norm(op, {{"x", &x}, {"relu_output", relu_output}}, {});
  if (masked_gradient != nullptr) {
    SOMBRERO_CHECK(relu_output != nullptr, op, ": a masked gradient needs the ReLU's output");
    check_batch_norm(op, {{"x", &x}, {"masked_gradient", masked_gradient}}, {});
  }
  if (x.is_cpu()) {
    kernels::cpu::batch_norm_backward_training(
        s, x.data<float>(), dy.data<float>(), gamma.data<float>(), save_mean.data<float>(),
        save_invstd.data<float>(), dx.data<float>(), dgamma.data<float>(), dbeta.data<float>(),
        relu_output != nullptr ? relu_output->data<float>() : nullptr,
        masked_gradient != nullptr ? masked_gradient->data<float>() : nullptr);
    return;
  }
  Tensor workspace = workspace_floats(x, kernels::batch_norm_workspace_floats(s));
  with_element_type(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(x.device(), batch_norm_backward_training, s, x.data<T>(), dy.data<T>(),
                           gamma.data<float>(), save_mean.data<float>(), save_invstd.data<float>(),
                           dx.data<T>(), dgamma.data<float>(), dbeta.data<float>(),
                           workspace.data<float>(), x.stream(),
                           relu_output != nullptr ? relu_output->data<T>() : nullptr,
                           masked_gradient != nullptr ? masked_gradient->data<T>() : nullptr);
  });
}

void batch_norm_backward_training_from_partials(const Tensor& x, const Tensor& g,
                                                const Tensor& partials, std::int64_t tiles,
                                                const Tensor& gamma, const Tensor& save_mean,
                                                const Tensor& save_invstd, Tensor& dx,
                                                Tensor& dgamma, Tensor& dbeta) {
  constexpr const char* op = "batch_norm_backward_training_from_partials";
  const kernels::BatchNormShape s = check_batch_norm(op, {{"x", &x}, {"g", &g}, {"dx", &dx}},
                                                     {{"gamma", &gamma},
                                                      {"save_mean", &save_mean},
                                                      {"save_invstd", &save_invstd},
                                                      {"dgamma", &dgamma},
                                                      {"dbeta", &dbeta}});
  SOMBRERO_CHECK(!x.is_cpu() && x.dtype() == DType::bf16, op,
                 ": bf16 activations on a device only");
  check_same_device(op, {{"x", &x}, {"partials", &partials}});
  check_dtype(op, DType::f32, {{"partials", &partials}});
  SOMBRERO_CHECK(tiles > 0 && partials.numel() == 2 * tiles * s.channels, op, ": ",
                 partials.numel(), " partials for ", tiles, " tiles and ", s.channels,
                 " channels, expected ", 2 * tiles * s.channels);
  Tensor workspace = workspace_floats(x, kernels::batch_norm_workspace_floats(s));
  SOMBRERO_DEVICE_KERNEL(x.device(), batch_norm_backward_training_from_partials, s,
                         partials.data<float>(), tiles, x.data<bf16>(), g.data<bf16>(),
                         gamma.data<float>(), save_mean.data<float>(), save_invstd.data<float>(),
                         dx.data<bf16>(), dgamma.data<float>(), dbeta.data<float>(),
                         workspace.data<float>(), x.stream());
}

}  // namespace sombrero::layers::ops
