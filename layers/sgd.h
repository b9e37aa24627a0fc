// SGD with momentum, Nesterov and weight decay, as torch.optim.SGD (dampening 0; the update
// is kernels/optim/sgd.h), with optional clipping of the global gradient norm and a
// finiteness check of the gradients before anything is changed.
//
//   Sgd sgd(model.parameters(), {.momentum = 0.9f, .nesterov = true, .weight_decay = 5e-4f,
//                                .no_decay_bn_bias = true, .grad_clip = 0.0f});
//   ... forward, loss, backward ...
//   const SgdStepStats stats = sgd.step(schedule.lr_at(step));   // stats.grad_norm for logs
//
// Weight decay is added to the gradient (L2, PyTorch's convention) for parameters whose
// role decays (layers/parameter.h). Gradient clipping (grad_clip > 0) scales every gradient
// by max_norm / (norm + 1e-6) when the global L2 norm exceeds max_norm, as
// torch.nn.utils.clip_grad_norm_. Momentum buffers are the optimizer state a checkpoint
// saves: momentum_buffers() names them by parameter name, in parameter order.
//
// Devices: the parameters may live on cpu, cuda:i or simt (all on one device). The momentum
// buffers are created on that device when Sgd is constructed, so construct it after
// Model::to; step() refuses parameters that have moved since. On cuda / simt, the gradient
// norm is kernels/reduce/sum_squares (one call per parameter, the partial sums read back
// once) and the update is one multi-tensor launch of kernels/optim/sgd.h for every parameter.
// The cpu path is kernels::cpu (bit-identical to before devices existed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/optim/sgd.h"
#include "layers/parameter.h"
#include "runtime/config/config.h"
#include "runtime/device_array.h"

namespace sombrero::layers {

struct SgdOptions {
  float momentum = 0.9f;
  bool nesterov = false;
  float weight_decay = 0.0f;
  bool no_decay_bn_bias = false;
  float grad_clip = 0.0f;  // max global L2 norm; 0 disables clipping
};

// optim.* of a run config.
SgdOptions sgd_options_from_config(const runtime::Config& config);

struct SgdStepStats {
  double grad_norm = 0.0;  // global L2 norm of the gradients before clipping
  bool clipped = false;
};

class Sgd {
 public:
  Sgd(std::vector<NamedParameter> parameters, const SgdOptions& options);

  // One update with learning rate `lr`. Throws sombrero::Error naming the step and the first
  // parameter with a non-finite gradient (parameters untouched).
  SgdStepStats step(float lr);
  std::int64_t steps_taken() const { return steps_; }
  void set_steps_taken(std::int64_t steps) { steps_ = steps; }  // on resume

  // (parameter name, buffer) pairs; the buffers have the parameters' shapes (conv weights
  // KRSC, as the parameters in memory). Empty when momentum is 0.
  std::vector<std::pair<std::string, Tensor*>> momentum_buffers();
  const SgdOptions& options() const { return options_; }

 private:
  std::vector<NamedParameter> parameters_;
  std::vector<Tensor> buffers_;
  // Device: the multi-tensor chunk table (update and gradient norm), kept while the tensors
  // stay put, and the gradient norm's per-chunk partials and total.
  void refresh_chunk_table();
  double device_grad_sum_squares();
  std::vector<kernels::SgdChunk> chunk_table_host_;
  runtime::DeviceArray<kernels::SgdChunk> chunk_table_;
  runtime::DeviceArray<float> chunk_sums_;
  runtime::DeviceArray<double> grad_sum_squares_;
  runtime::Device device_;  // of the parameters when constructed; the buffers live there
  SgdOptions options_;
  std::int64_t steps_ = 0;
};

// The name of the first tensor holding a NaN or an infinity: the parameter values, or their
// gradients when `gradients` is true; "" when all are finite. Any device (copies to the host).
std::string first_nonfinite(const std::vector<NamedParameter>& parameters, bool gradients);

}  // namespace sombrero::layers
