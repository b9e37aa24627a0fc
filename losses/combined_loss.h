// The training loss: softmax cross-entropy on the logits (optional label smoothing) plus
// lambda times the U(1) loss of the model's bottleneck tap, one fused call (kernels/u1loss;
// definitions in docs/u1.md). Thin wrapper: Tensors in, batch means and gradients out.
//
//   CombinedLoss loss(combined_loss_options_from_config(config, classes));
//   Tensor logits = model.forward(ctx, images);
//   LossOutput out = loss.compute(logits, labels, model.bottleneck(),
//                                 loss.needs_bottleneck_grad() ? &model.bottleneck_grad()
//                                                              : nullptr);
//   model.backward(ctx, out.dlogits);
//
// dlogits = (softmax - q) / batch (the gradient of the batch-mean loss); the U(1) gradient is
// ADDED into *dbottleneck (it also receives the global-pooling gradient during backward).
//
// Devices: the tensors may be on cpu (kernels::cpu, f32), cuda:i or simt (the fused kernel of
// kernels/u1loss/u1_loss.cu; the bottleneck and its gradient f32 or bf16). The labels and the
// class-angle table are uploaded per call (a few bytes); dlogits is a tensor on the logits'
// device; z, the angle readout and the per-sample losses come back to the host, and the batch
// means are computed there (kernels::mean_of_sample_losses).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/u1loss/u1_loss.h"
#include "runtime/config/config.h"
#include "runtime/tensor.h"

namespace sombrero::losses {

struct CombinedLossOptions {
  kernels::U1LossConfig u1;         // weight (lambda), eps, space, label_smoothing
  std::vector<float> class_angles;  // theta_c [classes]
  // z and the angle readout in every LossOutput (the trainer's angle accuracy). false with
  // u1.weight 0 is the plain one-hot loss: the kernel never reads the bottleneck, and
  // LossOutput's z and angle_prediction stay empty (bench train-step's one-hot baseline).
  bool readout = true;
};

// loss.label_smoothing, u1.weight/eps/space/targets/seed.
CombinedLossOptions combined_loss_options_from_config(const runtime::Config& config, int classes);

struct LossOutput {
  kernels::U1LossResult mean;                  // batch means: loss, ce, u1
  Tensor dlogits;                              // [batch, classes]
  std::vector<float> z;                        // [batch, 2]: Re z, Im z
  std::vector<std::int32_t> angle_prediction;  // [batch]: the angle readout
  std::vector<float> sample_losses;            // [batch, 2]: ce, u1 per sample
};

class CombinedLoss {
 public:
  explicit CombinedLoss(CombinedLossOptions options);
  bool needs_bottleneck_grad() const { return options_.u1.weight > 0.0f; }
  const CombinedLossOptions& options() const { return options_; }

  // logits [batch, classes] f32; bottleneck [batch, h, w, c] (A >= 0) on the logits' device,
  // f32 (bf16 too on cuda / simt); dbottleneck, like the bottleneck, may be null when the U(1)
  // weight is 0 (the gradient is then not needed).
  LossOutput compute(const Tensor& logits, const std::vector<std::int32_t>& labels,
                     const Tensor& bottleneck, Tensor* dbottleneck) const;

  // Evaluation: the same loss value (with the configured lambda), z and the angle readout,
  // without any work on the bottleneck's gradient.
  LossOutput forward_only(const Tensor& logits, const std::vector<std::int32_t>& labels,
                          const Tensor& bottleneck) const;

 private:
  CombinedLossOptions options_;
};

}  // namespace sombrero::losses
