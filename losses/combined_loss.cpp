#include "losses/combined_loss.h"

#include "kernels/u1loss/class_angles.h"
#include "runtime/error.h"

namespace sombrero::losses {

CombinedLossOptions combined_loss_options_from_config(const runtime::Config& config, int classes) {
  CombinedLossOptions o;
  o.u1.weight = float(config.get<double>("u1.weight"));
  o.u1.eps = float(config.get<double>("u1.eps"));
  o.u1.space = kernels::parse_u1_space(config.get<std::string>("u1.space"));
  o.u1.label_smoothing = float(config.get<double>("loss.label_smoothing"));
  o.class_angles = kernels::class_angle_table(
      kernels::parse_class_angles(config.get<std::string>("u1.targets")), classes,
      static_cast<std::uint64_t>(config.get<std::int64_t>("u1.seed")));
  return o;
}

CombinedLoss::CombinedLoss(CombinedLossOptions options) : options_(std::move(options)) {}

LossOutput CombinedLoss::compute(const Tensor& logits, const std::vector<std::int32_t>& labels,
                                 const Tensor& bottleneck, Tensor* dbottleneck) const {
  SOMBRERO_CHECK(logits.rank() == 2 && logits.is_cpu() && logits.dtype() == runtime::DType::f32,
                 "loss: logits must be an f32 cpu [batch, classes] tensor, got ",
                 to_string(logits.shape()));
  SOMBRERO_CHECK(bottleneck.rank() == 4 && bottleneck.dim(0) == logits.dim(0), "loss: bottleneck ",
                 to_string(bottleneck.shape()), " does not match logits ",
                 to_string(logits.shape()));
  SOMBRERO_CHECK(std::int64_t(labels.size()) == logits.dim(0), "loss: ", labels.size(),
                 " labels for a batch of ", logits.dim(0));
  SOMBRERO_CHECK(std::int64_t(options_.class_angles.size()) == logits.dim(1),
                 "loss: ", options_.class_angles.size(), " class angles for ", logits.dim(1),
                 " classes");
  SOMBRERO_CHECK(dbottleneck != nullptr || !needs_bottleneck_grad(),
                 "loss: the U(1) weight is > 0 but no bottleneck gradient buffer was given");
  if (dbottleneck != nullptr)
    SOMBRERO_CHECK(dbottleneck->shape() == bottleneck.shape(),
                   "loss: bottleneck gradient has shape ", to_string(dbottleneck->shape()));
  const int batch = int(logits.dim(0));
  kernels::U1LossShape shape{batch, int(logits.dim(1)), int(bottleneck.dim(1)),
                             int(bottleneck.dim(2)), int(bottleneck.dim(3))};
  LossOutput out;
  out.dlogits = Tensor::empty(logits.shape());
  out.z.resize(std::size_t(batch) * 2);
  out.angle_prediction.resize(std::size_t(batch));
  out.sample_losses.resize(std::size_t(batch) * 2);
  kernels::U1LossArgs args;
  args.logits = logits.data<float>();
  args.labels = labels.data();
  args.activation = bottleneck.data<float>();
  args.class_angles = options_.class_angles.data();
  args.dlogits = out.dlogits.data<float>();
  args.dactivation = dbottleneck != nullptr ? dbottleneck->data<float>() : nullptr;
  args.z = out.z.data();
  args.angle_prediction = out.angle_prediction.data();
  args.sample_losses = out.sample_losses.data();
  kernels::check_u1_loss_inputs(shape, options_.u1, args);
  out.mean = kernels::cpu::u1_loss_forward_backward(shape, options_.u1, args);
  return out;
}

LossOutput CombinedLoss::forward_only(const Tensor& logits, const std::vector<std::int32_t>& labels,
                                      const Tensor& bottleneck) const {
  // The kernel skips the gradient pass at weight 0; the loss is recombined with lambda.
  CombinedLossOptions forward = options_;
  forward.u1.weight = 0.0f;
  LossOutput out = CombinedLoss(std::move(forward)).compute(logits, labels, bottleneck, nullptr);
  out.mean.loss = out.mean.ce + double(options_.u1.weight) * out.mean.u1;
  return out;
}

}  // namespace sombrero::losses
