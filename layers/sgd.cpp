#include "layers/sgd.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/optim/sgd.h"
#include "kernels/reduce/sum_squares.h"
#include "layers/ops/dispatch.h"
#include "runtime/device_array.h"
#include "runtime/error.h"

namespace sombrero::layers {

SgdOptions sgd_options_from_config(const runtime::Config& config) {
  SgdOptions o;
  o.momentum = float(config.get<double>("optim.momentum"));
  o.nesterov = config.get<bool>("optim.nesterov");
  o.weight_decay = float(config.get<double>("optim.weight_decay"));
  o.no_decay_bn_bias = config.get<bool>("optim.no_decay_bn_bias");
  o.grad_clip = float(config.get<double>("optim.grad_clip"));
  return o;
}

Sgd::Sgd(std::vector<NamedParameter> parameters, const SgdOptions& options)
    : parameters_(std::move(parameters)), options_(options) {
  SOMBRERO_CHECK(options.momentum >= 0 && options.momentum < 1, "SGD: momentum ", options.momentum,
                 " is outside [0, 1)");
  SOMBRERO_CHECK(!options.nesterov || options.momentum > 0, "SGD: Nesterov needs momentum > 0");
  SOMBRERO_CHECK(options.weight_decay >= 0 && options.grad_clip >= 0,
                 "SGD: weight decay and grad_clip must be >= 0");
  if (!parameters_.empty()) device_ = parameters_.front().parameter->value.device();
  for (const NamedParameter& p : parameters_)
    SOMBRERO_CHECK(p.parameter->value.device() == device_, "SGD: parameter '", p.name, "' is on ",
                   runtime::to_string(p.parameter->value.device()), ", '", parameters_.front().name,
                   "' on ", runtime::to_string(device_), "; all parameters must be on one device");
  if (options.momentum > 0)
    for (const NamedParameter& p : parameters_)
      buffers_.push_back(Tensor::zeros(p.parameter->value.shape(), runtime::DType::f32, device_));
}

// Sum of the squared gradients of every parameter on the CPU backend, in double.
namespace {
double cpu_sum_of_squared_gradients(const std::vector<NamedParameter>& parameters) {
  double sum = 0.0;
  for (const NamedParameter& p : parameters)
    sum += kernels::cpu::sum_squares(p.parameter->grad.data<float>(),
                                     std::size_t(p.parameter->grad.numel()));
  return sum;
}
}  // namespace

// The table changes only when a tensor is re-allocated (Model::to, a load): upload it then,
// not every step (the upload waits for the device).
void Sgd::refresh_chunk_table() {
  std::vector<kernels::SgdChunk> chunks;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Parameter& p = *parameters_[i].parameter;
    kernels::append_sgd_chunks(chunks, p.value.data<float>(), p.grad.data<float>(),
                               buffers_.empty() ? nullptr : buffers_[i].data<float>(),
                               p.decays(options_.no_decay_bn_bias) ? options_.weight_decay : 0.0f,
                               p.value.numel());
  }
  const bool same_table = chunks.size() == chunk_table_host_.size() &&
                          std::equal(chunks.begin(), chunks.end(), chunk_table_host_.begin(),
                                     [](const kernels::SgdChunk& a, const kernels::SgdChunk& b) {
                                       return a.param == b.param && a.grad == b.grad &&
                                              a.momentum_buffer == b.momentum_buffer &&
                                              a.weight_decay == b.weight_decay &&
                                              a.count == b.count;
                                     });
  if (same_table) return;
  chunk_table_ = runtime::DeviceArray<kernels::SgdChunk>(chunks, device_);
  chunk_sums_ = runtime::DeviceArray<float>(std::max<std::size_t>(chunks.size(), 1), device_);
  grad_sum_squares_ = runtime::DeviceArray<double>(1, device_);
  chunk_table_host_ = std::move(chunks);
}

// Two launches over the chunk table, whatever the number of tensors, and one read-back.
double Sgd::device_grad_sum_squares() {
  SOMBRERO_DEVICE_KERNEL(device_, sgd_grad_sum_squares, chunk_table_.data(),
                         int(chunk_table_host_.size()), chunk_sums_.data(),
                         grad_sum_squares_.data(), parameters_.front().parameter->value.stream());
  return grad_sum_squares_.to_vector().front();
}

SgdStepStats Sgd::step(float lr) {
  for (const NamedParameter& p : parameters_)
    SOMBRERO_CHECK(p.parameter->value.device() == device_ && p.parameter->grad.device() == device_,
                   "SGD: parameter '", p.name, "' (value on ",
                   runtime::to_string(p.parameter->value.device()), ", gradient on ",
                   runtime::to_string(p.parameter->grad.device()),
                   ") is not on the optimizer's device ", runtime::to_string(device_),
                   "; construct Sgd after Model::to");
  SgdStepStats stats;
  const bool on_device = !device_.is_cpu() && !parameters_.empty();
  if (on_device) refresh_chunk_table();
  stats.grad_norm =
      std::sqrt(on_device ? device_grad_sum_squares() : cpu_sum_of_squared_gradients(parameters_));
  if (!std::isfinite(stats.grad_norm)) {
    const std::string name = first_nonfinite(parameters_, true);
    SOMBRERO_FAIL("step ", steps_, ": non-finite gradient in '",
                  name.empty() ? std::string("(overflow of the norm)") : name,
                  "'; parameters were not updated");
  }
  float grad_scale = 1.0f;
  if (options_.grad_clip > 0 && stats.grad_norm > options_.grad_clip) {
    grad_scale = float(options_.grad_clip / (stats.grad_norm + 1e-6));
    stats.clipped = true;
  }
  kernels::SgdStep step;
  step.lr = lr;
  step.momentum = options_.momentum;
  step.nesterov = options_.nesterov;
  step.grad_scale = grad_scale;
  if (device_.is_cpu()) {
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      Parameter& p = *parameters_[i].parameter;
      step.weight_decay = p.decays(options_.no_decay_bn_bias) ? options_.weight_decay : 0.0f;
      kernels::cpu::sgd_update(p.value.numel(), p.value.data<float>(), p.grad.data<float>(),
                               buffers_.empty() ? nullptr : buffers_[i].data<float>(), step);
    }
  } else if (on_device) {
    // Every parameter in one multi-tensor launch over the chunk table.
    SOMBRERO_DEVICE_KERNEL(device_, sgd_update, chunk_table_.data(), int(chunk_table_host_.size()),
                           step, parameters_.front().parameter->value.stream());
  }
  ++steps_;
  return stats;
}

std::vector<std::pair<std::string, Tensor*>> Sgd::momentum_buffers() {
  std::vector<std::pair<std::string, Tensor*>> out;
  for (std::size_t i = 0; i < buffers_.size(); ++i)
    out.emplace_back(parameters_[i].name, &buffers_[i]);
  return out;
}

std::string first_nonfinite(const std::vector<NamedParameter>& parameters, bool gradients) {
  for (const NamedParameter& p : parameters) {
    const Tensor& t = gradients ? p.parameter->grad : p.parameter->value;
    const std::vector<float> values = t.is_host() ? std::vector<float>() : t.to_floats();
    const float* data = t.is_host() ? t.data<float>() : values.data();
    for (std::int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(data[i])) return p.name + (gradients ? " (gradient)" : "");
  }
  return "";
}

}  // namespace sombrero::layers
