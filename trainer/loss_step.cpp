#include "trainer/loss_step.h"

#include <algorithm>
#include <numeric>

#include "runtime/error.h"

namespace sombrero::trainer {

BatchOutcome compute_loss(layers::Model& model, const runtime::Tensor& logits,
                          const std::vector<std::int32_t>& labels, const LossSettings& settings,
                          bool training) {
  const int batch = static_cast<int>(logits.dim(0));
  const int classes = static_cast<int>(logits.dim(1));
  SOMBRERO_CHECK(static_cast<int>(labels.size()) == batch, "loss: ", labels.size(),
                 " labels for a batch of ", batch);
  SOMBRERO_CHECK(static_cast<int>(settings.class_angles.size()) == classes,
                 "loss: ", settings.class_angles.size(), " class angles for ", classes, " classes");
  const runtime::Tensor& tap = model.bottleneck();
  BatchOutcome out;
  out.dlogits = runtime::Tensor::empty(runtime::Shape{batch, classes});
  std::vector<std::int32_t> angle_prediction(batch);

  kernels::U1LossShape shape{batch, classes, static_cast<int>(tap.dim(1)),
                             static_cast<int>(tap.dim(2)), static_cast<int>(tap.dim(3))};
  kernels::U1LossConfig config = settings.config;
  kernels::U1LossArgs args;
  args.logits = logits.data<float>();
  args.labels = labels.data();
  args.activation = tap.data<float>();
  args.class_angles = settings.class_angles.data();
  args.dlogits = out.dlogits.data<float>();
  args.angle_prediction = angle_prediction.data();
  if (training && config.weight > 0.0f)
    args.dactivation = model.bottleneck_grad().data<float>();
  else
    config.weight = 0.0f;  // eval: loss value and readout only, no gradient work
  out.loss = kernels::cpu::u1_loss_forward_backward(shape, config, args);
  // Report the loss with the configured lambda also in eval (the kernel was told 0 there).
  out.loss.loss = out.loss.ce + double(settings.config.weight) * out.loss.u1;

  const float* row = logits.data<float>();
  out.predictions.resize(batch);
  std::vector<int> order(classes);
  for (int b = 0; b < batch; ++b, row += classes) {
    std::iota(order.begin(), order.end(), 0);
    const int k = std::min(5, classes);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int i, int j) { return row[i] > row[j] || (row[i] == row[j] && i < j); });
    out.predictions[b] = order[0];
    out.top1_hits += order[0] == labels[b];
    out.top5_hits += std::find(order.begin(), order.begin() + k, labels[b]) != order.begin() + k;
    out.angle_hits += angle_prediction[b] == labels[b];
  }
  return out;
}

}  // namespace sombrero::trainer
