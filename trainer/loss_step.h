// The loss of one batch, as the trainer and the evaluator call it: softmax cross-entropy on
// the logits plus lambda times the U(1) loss of the model's bottleneck tap, through the fused
// kernel (kernels/u1loss). It writes dlogits (returned) and, in training with lambda > 0,
// adds dL/dA into the model's bottleneck gradient; it also returns per-sample predictions
// (softmax top-1 and top-5 hits, the angle readout) for the accuracy counters.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/u1loss/u1_loss.h"
#include "layers/model.h"

namespace sombrero::trainer {

struct LossSettings {
  kernels::U1LossConfig config;     // weight, eps, space, label smoothing
  std::vector<float> class_angles;  // theta_c, [classes]
};

struct BatchOutcome {
  kernels::U1LossResult loss;  // batch means
  runtime::Tensor dlogits;     // [batch, classes], already divided by the batch size
  int top1_hits = 0, top5_hits = 0, angle_hits = 0;
  std::vector<std::int32_t> predictions;  // softmax argmax per sample
};

// `training` decides whether the bottleneck gradient is written (the readout is computed in
// both modes, so eval reports the angle top-1 also for lambda = 0).
BatchOutcome compute_loss(layers::Model& model, const runtime::Tensor& logits,
                          const std::vector<std::int32_t>& labels, const LossSettings& settings,
                          bool training);

}  // namespace sombrero::trainer
