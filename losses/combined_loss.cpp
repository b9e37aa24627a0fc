#include "losses/combined_loss.h"

#include <cstdint>

#include "kernels/u1loss/class_angles.h"
#include "layers/ops/dispatch.h"
#include "runtime/device_array.h"
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

namespace {

// The kernel's pointers for the device execution (cuda or simt) of one call.
template <typename Activation>
kernels::U1LossResult run_on_device(const kernels::U1LossShape& shape,
                                    const kernels::U1LossConfig& config, const Tensor& logits,
                                    const std::vector<std::int32_t>& labels,
                                    const std::vector<float>& class_angles,
                                    const Tensor& bottleneck, Tensor* dbottleneck, bool readout,
                                    LossOutput& out) {
  const runtime::Device device = logits.device();
  const runtime::DeviceArray<std::int32_t> device_labels(labels, device);
  const runtime::DeviceArray<float> device_angles(class_angles, device);
  const std::int64_t batch = shape.batch;
  Tensor z = Tensor::empty({batch, 2}, runtime::DType::f32, device);
  Tensor sample_losses = Tensor::empty({batch, 2}, runtime::DType::f32, device);
  runtime::DeviceArray<std::int32_t> angle_prediction(std::size_t(batch), device);
  kernels::U1LossArgsOf<Activation> args;
  args.logits = logits.data<float>();
  args.labels = device_labels.data();
  args.activation = bottleneck.data<Activation>();
  args.class_angles = device_angles.data();
  args.dlogits = out.dlogits.data<float>();
  args.dactivation = dbottleneck != nullptr ? dbottleneck->data<Activation>() : nullptr;
  args.z = readout ? z.data<float>() : nullptr;
  args.angle_prediction = readout ? angle_prediction.data() : nullptr;
  args.sample_losses = sample_losses.data<float>();
  SOMBRERO_DEVICE_KERNEL(device, u1_loss_forward_backward, shape, config, args, logits.stream());
  if (readout) {
    out.z = z.to_floats();
    out.angle_prediction = angle_prediction.to_vector();
  }
  out.sample_losses = sample_losses.to_floats();
  return kernels::mean_of_sample_losses(out.sample_losses.data(), shape.batch, config.weight);
}

}  // namespace

LossOutput CombinedLoss::compute(const Tensor& logits, const std::vector<std::int32_t>& labels,
                                 const Tensor& bottleneck, Tensor* dbottleneck) const {
  SOMBRERO_CHECK(logits.defined() && logits.rank() == 2 && logits.dtype() == runtime::DType::f32,
                 "loss: logits must be an f32 [batch, classes] tensor, got ",
                 logits.defined() ? logits.to_string(0) : std::string("an undefined tensor"));
  SOMBRERO_CHECK(
      bottleneck.defined() && bottleneck.rank() == 4 && bottleneck.dim(0) == logits.dim(0),
      "loss: bottleneck ",
      bottleneck.defined() ? to_string(bottleneck.shape()) : std::string("(undefined)"),
      " does not match logits ", to_string(logits.shape()));
  SOMBRERO_CHECK(bottleneck.device() == logits.device(), "loss: the bottleneck is on ",
                 runtime::to_string(bottleneck.device()), ", the logits on ",
                 runtime::to_string(logits.device()));
  SOMBRERO_CHECK(bottleneck.dtype() == runtime::DType::f32 || !logits.is_cpu(),
                 "loss: a bf16 bottleneck needs the cuda or simt device; the cpu backend "
                 "computes in f32");
  SOMBRERO_CHECK(std::int64_t(labels.size()) == logits.dim(0), "loss: ", labels.size(),
                 " labels for a batch of ", logits.dim(0));
  SOMBRERO_CHECK(std::int64_t(options_.class_angles.size()) == logits.dim(1),
                 "loss: ", options_.class_angles.size(), " class angles for ", logits.dim(1),
                 " classes");
  SOMBRERO_CHECK(dbottleneck != nullptr || !needs_bottleneck_grad(),
                 "loss: the U(1) weight is > 0 but no bottleneck gradient buffer was given");
  if (dbottleneck != nullptr)
    SOMBRERO_CHECK(dbottleneck->shape() == bottleneck.shape() &&
                       dbottleneck->dtype() == bottleneck.dtype() &&
                       dbottleneck->device() == bottleneck.device(),
                   "loss: the bottleneck gradient ", dbottleneck->to_string(0),
                   " does not match the bottleneck ", bottleneck.to_string(0));
  const int batch = int(logits.dim(0));
  kernels::U1LossShape shape{batch, int(logits.dim(1)), int(bottleneck.dim(1)),
                             int(bottleneck.dim(2)), int(bottleneck.dim(3))};
  const bool readout = options_.readout || options_.u1.weight > 0.0f;
  LossOutput out;
  out.dlogits = Tensor::empty(logits.shape(), runtime::DType::f32, logits.device());
  if (readout) {
    out.z.resize(std::size_t(batch) * 2);
    out.angle_prediction.resize(std::size_t(batch));
  }
  out.sample_losses.resize(std::size_t(batch) * 2);
  // Validated on the host (labels, config); only non-null is checked of the other pointers.
  kernels::U1LossArgs args;
  args.logits = logits.data<float>();
  args.labels = labels.data();
  args.activation = static_cast<const float*>(bottleneck.raw_data());
  args.class_angles = options_.class_angles.data();
  args.dlogits = out.dlogits.data<float>();
  args.dactivation =
      dbottleneck != nullptr ? static_cast<float*>(dbottleneck->raw_data()) : nullptr;
  args.z = readout ? out.z.data() : nullptr;
  args.angle_prediction = readout ? out.angle_prediction.data() : nullptr;
  args.sample_losses = out.sample_losses.data();
  kernels::check_u1_loss_inputs(shape, options_.u1, args);
  if (logits.is_cpu()) {
    out.mean = kernels::cpu::u1_loss_forward_backward(shape, options_.u1, args);
    return out;
  }
  out.mean = layers::ops::with_element_type(bottleneck.dtype(), [&](auto zero) {
    using T = decltype(zero);
    return run_on_device<T>(shape, options_.u1, logits, labels, options_.class_angles, bottleneck,
                            dbottleneck, readout, out);
  });
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
