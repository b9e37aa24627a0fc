#include "layers/layer.h"

#include <cstdint>

#include "layers/ops/dispatch.h"
#include "runtime/error.h"

namespace sombrero::layers {

Precision parse_precision(const std::string& text) {
  if (text == "f32") return Precision::f32;
  if (text == "bf16") return Precision::bf16;
  SOMBRERO_FAIL("unknown precision '", text, "' (choose f32 or bf16)");
}

void check_context_supported(const Context& ctx) {
#if !defined(SOMBRERO_HAVE_CUDA)
  SOMBRERO_CHECK(!ctx.device.is_cuda(), "layers: device ", runtime::to_string(ctx.device),
                 " needs the CUDA backend and this build has none (reconfigure with "
                 "-DSOMBRERO_CUDA=ON on a machine with nvcc, or use train.device: cpu or simt)");
#endif
  SOMBRERO_CHECK(!(ctx.device.is_cpu() && ctx.precision == Precision::bf16),
                 "layers: precision bf16 needs the CUDA kernels; the CPU backend computes in f32 "
                 "(set train.precision: f32, or train.device: cuda, or simt to run the CUDA "
                 "kernels on the CPU)");
}

double Layer::forward_flops(const Shape&) const {
  return 0.0;
}

std::vector<NamedParameter> Layer::named_parameters(const std::string& prefix) {
  std::vector<NamedParameter> out;
  for (auto& [name, parameter] : parameters_) out.push_back({prefix + name, parameter.get()});
  for (auto& [name, child] : children_) {
    auto sub = child->named_parameters(prefix + name + ".");
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

std::vector<NamedBuffer> Layer::named_buffers(const std::string& prefix) {
  std::vector<NamedBuffer> out;
  for (const NamedBuffer& buffer : buffers_)
    out.push_back({prefix + buffer.name, buffer.tensor, buffer.counter});
  for (auto& [name, child] : children_) {
    auto sub = child->named_buffers(prefix + name + ".");
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

std::vector<NamedState> Layer::named_state(const std::string& prefix) {
  std::vector<NamedState> out;
  for (auto& [name, parameter] : parameters_) out.push_back({prefix + name, parameter.get(), {}});
  for (const NamedBuffer& buffer : buffers_)
    out.push_back(
        {prefix + buffer.name, nullptr, {prefix + buffer.name, buffer.tensor, buffer.counter}});
  for (auto& [name, child] : children_) {
    auto sub = child->named_state(prefix + name + ".");
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

Parameter& Layer::add_parameter(const std::string& name, const Shape& shape, ParameterRole role,
                                DiskLayout layout) {
  auto parameter = std::make_unique<Parameter>();
  parameter->value = Tensor::zeros(shape);
  parameter->grad = Tensor::zeros(shape);
  parameter->role = role;
  parameter->layout = layout;
  Parameter& ref = *parameter;
  parameters_.emplace_back(name, std::move(parameter));
  return ref;
}

void Layer::add_buffer(const std::string& name, Tensor* tensor) {
  buffers_.push_back({name, tensor, nullptr});
}

void Layer::add_counter(const std::string& name, std::int64_t* counter) {
  buffers_.push_back({name, nullptr, counter});
}

void Layer::check_cached(const Tensor& cached, const std::string& layer) {
  SOMBRERO_CHECK(cached.defined(), layer,
                 ": backward without a training-mode forward (Context::training was false, or "
                 "backward ran twice)");
}

void check_input(const Tensor& x, int rank, const std::string& layer) {
  SOMBRERO_CHECK(x.defined(), layer, ": input tensor is undefined");
  SOMBRERO_CHECK(x.rank() == rank, layer, ": expects a rank-", rank, " input (",
                 rank == 4 ? "NHWC" : "[N, features]", "), got ", runtime::to_string(x.shape()));
  SOMBRERO_CHECK(x.dtype() == runtime::DType::f32 || x.dtype() == runtime::DType::bf16, layer,
                 ": activations are f32 or bf16, got ", runtime::dtype_name(x.dtype()));
  ops::check_cpu_backend_f32(layer.c_str(), x);
}

}  // namespace sombrero::layers
