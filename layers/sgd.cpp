#include "layers/sgd.h"

#include <cmath>

#include "kernels/optim/sgd.h"
#include "kernels/reduce/sum_squares.h"
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
  if (options.momentum > 0)
    for (const NamedParameter& p : parameters_)
      buffers_.push_back(Tensor::zeros(p.parameter->value.shape()));
}

SgdStepStats Sgd::step(float lr) {
  double sum = 0.0;
  for (const NamedParameter& p : parameters_)
    sum += kernels::cpu::sum_squares(p.parameter->grad.data<float>(),
                                     std::size_t(p.parameter->grad.numel()));
  SgdStepStats stats;
  stats.grad_norm = std::sqrt(sum);
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
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Parameter& p = *parameters_[i].parameter;
    kernels::SgdStep step;
    step.lr = lr;
    step.momentum = options_.momentum;
    step.nesterov = options_.nesterov;
    step.weight_decay = p.decays(options_.no_decay_bn_bias) ? options_.weight_decay : 0.0f;
    step.grad_scale = grad_scale;
    kernels::cpu::sgd_update(p.value.numel(), p.value.data<float>(), p.grad.data<float>(),
                             buffers_.empty() ? nullptr : buffers_[i].data<float>(), step);
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
    const float* data = t.data<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(data[i])) return p.name + (gradients ? " (gradient)" : "");
  }
  return "";
}

}  // namespace sombrero::layers
