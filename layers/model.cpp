#include "layers/model.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include "kernels/pointwise/pointwise.h"
#include "layers/compute_weights.h"
#include "layers/conv2d.h"
#include "layers/conv_batch_norm_link.h"
#include "layers/ops/dispatch.h"
#include "runtime/error.h"
#include "runtime/kernel_profiler.h"

namespace sombrero::layers {

namespace {

Shape batch_of_one(const Shape& image) {
  return {1, image[0], image[1], image[2]};
}

std::int64_t count_parameters(Layer& layer) {
  std::int64_t count = 0;
  for (const NamedParameter& p : layer.named_parameters()) count += p.parameter->value.numel();
  return count;
}

std::string shape_text(const Shape& shape) {  // without the batch dimension
  std::ostringstream text;
  for (int i = 1; i < shape.rank(); ++i) text << (i > 1 ? "x" : "") << shape[i];
  return text.str();
}

}  // namespace

Model::Model(std::string architecture, std::unique_ptr<Sequential> trunk, const Shape& image_shape,
             const std::string& bottleneck)
    : architecture_(std::move(architecture)), trunk_(std::move(trunk)), image_shape_(image_shape) {
  SOMBRERO_CHECK(trunk_ != nullptr && trunk_->size() > 0, "Model ", architecture_, ": empty trunk");
  SOMBRERO_CHECK(image_shape.rank() == 3, "Model ", architecture_,
                 ": image shape must be [H, W, C], got ", to_string(image_shape));
  const std::vector<std::string> spatial = spatial_layer_names();
  SOMBRERO_CHECK(!spatial.empty(), "Model ", architecture_, ": no spatial layer to tap");
  const std::string& wanted = bottleneck.empty() ? spatial.back() : bottleneck;
  bool found = false;
  for (std::size_t i = 0; i < trunk_->size(); ++i)
    if (trunk_->name_at(i) == wanted) {
      tap_index_ = i;
      found = true;
    }
  std::string choices;
  for (const std::string& name : spatial) {
    if (!choices.empty()) choices += ", ";
    choices += name;
  }
  SOMBRERO_CHECK(found && std::find(spatial.begin(), spatial.end(), wanted) != spatial.end(),
                 "model.bottleneck: '", wanted, "' is not a spatial layer of ", architecture_,
                 " (choose one of: ", choices, ")");
  // The images need no gradient.
  if (auto* conv = dynamic_cast<Conv2d*>(&trunk_->at(0))) conv->set_input_grad_needed(false);
  // BatchNorm statistics from the epilogues of the convolutions they follow (on a device).
  link_conv_batch_norm_pairs(*trunk_);
}

std::vector<std::string> Model::spatial_layer_names() const {
  std::vector<std::string> names;
  Shape shape = batch_of_one(image_shape_);
  for (std::size_t i = 0; i < trunk_->size(); ++i) {
    shape = trunk_->at(i).output_shape(shape);
    if (shape.rank() == 4) names.push_back(trunk_->name_at(i));
  }
  return names;
}

int Model::num_classes() const {
  return int(trunk_->output_shape(batch_of_one(image_shape_))[1]);
}

Tensor Model::forward(const Context& ctx, const Tensor& images) {
  SOMBRERO_CHECK(images.defined(), "Model ", architecture_, "::forward: undefined images");
  SOMBRERO_CHECK(images.device() == device_, "Model ", architecture_, ": the images are on ",
                 runtime::to_string(images.device()), " but the model is on ",
                 runtime::to_string(device_),
                 "; move the batch there (Tensor::to) or the model (Model::to)");
  check_context_supported(ctx);
  const runtime::kernel_profiler::Scope forward_scope("forward");  // bench train-step --profile
  // Every layer's weight in the activations' precision, converted together (compute_weights.h);
  // copies a layer did not take are dropped however the forward ends.
  const std::vector<ComputeWeightUser*> users = compute_weight_users(*trunk_);
  offer_compute_weights(users, images.dtype());
  struct DiscardUntaken {
    const std::vector<ComputeWeightUser*>& users;
    ~DiscardUntaken() {
      for (ComputeWeightUser* user : users) user->discard_compute_weight();
    }
  } discard_untaken{users};
  Tensor y = images;
  for (std::size_t i = 0; i < trunk_->size(); ++i) {
    const runtime::kernel_profiler::Scope scope(trunk_->name_at(i));
    y = trunk_->at(i).forward(ctx, y);
    if (i == tap_index_) bottleneck_ = y;
  }
  bottleneck_grad_ = Tensor();
  activation_dtype_ = y.dtype();
  // The loss reads f32 logits whatever the activations' precision.
  return y.dtype() == runtime::DType::f32 ? y : y.to_dtype(runtime::DType::f32);
}

const Tensor& Model::bottleneck() const {
  SOMBRERO_CHECK(bottleneck_.defined(), "Model::bottleneck: no forward has run");
  return bottleneck_;
}

Tensor& Model::bottleneck_grad() {
  if (!bottleneck_grad_.defined())
    bottleneck_grad_ =
        Tensor::zeros(bottleneck().shape(), bottleneck().dtype(), bottleneck().device());
  return bottleneck_grad_;
}

namespace {

// y += x on any device, f32 (cpu, cuda, simt) or bf16 (cuda, simt).
void add_into(const Tensor& x, Tensor& y) {
  if (y.is_cpu()) {
    ops::check_cpu_backend_f32("Model::backward", y);
    kernels::cpu::add_inplace(y.numel(), x.data<float>(), y.data<float>());
    return;
  }
  ops::with_element_type(y.dtype(), [&](auto zero) {
    using T = decltype(zero);
    SOMBRERO_DEVICE_KERNEL(y.device(), add_inplace, y.numel(), x.data<T>(), y.data<T>(),
                           y.stream());
  });
}

}  // namespace

void Model::backward(const Context& ctx, const Tensor& dlogits,
                     const std::function<void(Layer&)>& after_layer) {
  SOMBRERO_CHECK(dlogits.defined() && dlogits.device() == device_, "Model ", architecture_,
                 "::backward: dlogits must be on the model's device ", runtime::to_string(device_));
  check_context_supported(ctx);
  // dlogits are f32 (the loss's); the trunk continues in the forward's activation dtype.
  const runtime::kernel_profiler::Scope backward_scope("backward");
  Tensor g = dlogits.dtype() == activation_dtype_ ? dlogits : dlogits.to_dtype(activation_dtype_);
  for (std::size_t i = trunk_->size(); i-- > 0;) {
    const runtime::kernel_profiler::Scope scope(trunk_->name_at(i));
    if (i == tap_index_ && bottleneck_grad_.defined()) {
      SOMBRERO_CHECK(bottleneck_grad_.shape() == g.shape() &&
                         bottleneck_grad_.dtype() == g.dtype() &&
                         bottleneck_grad_.device() == g.device(),
                     "Model::backward: the bottleneck gradient ", bottleneck_grad_.to_string(0),
                     " does not match the gradient at the tap ", g.to_string(0));
      Tensor sum = g.clone();  // g may be a view another layer still holds
      add_into(bottleneck_grad_, sum);
      g = sum;
    }
    Layer& layer = trunk_->at(i);
    auto* stage = dynamic_cast<Sequential*>(&layer);
    if (stage != nullptr && after_layer) {
      g = stage->backward(ctx, g, after_layer);  // a stage (ResNet's layer1..4): block by block
    } else {
      g = layer.backward(ctx, g);
      if (after_layer) after_layer(layer);
    }
  }
  bottleneck_ = Tensor();
  bottleneck_grad_ = Tensor();
}

std::int64_t Model::parameter_count() {
  return count_parameters(*trunk_);
}

void Model::zero_grad() {
  for (const NamedParameter& p : parameters()) p.parameter->grad.fill(0.0f);
}

void Model::to(runtime::Device device) {
  for (const NamedParameter& p : parameters()) {
    p.parameter->value = p.parameter->value.to(device);
    if (p.parameter->grad.defined()) p.parameter->grad = p.parameter->grad.to(device);
  }
  for (const NamedBuffer& b : buffers())
    if (b.tensor != nullptr && b.tensor->defined()) *b.tensor = b.tensor->to(device);
  device_ = device;
  bottleneck_ = Tensor();
  bottleneck_grad_ = Tensor();
}

double Model::forward_flops_per_image() const {
  return trunk_->forward_flops(batch_of_one(image_shape_));
}

std::string Model::summary() {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %-44s %-14s %12s %12s\n", "layer", "type", "output",
                "params", "MFLOPs");
  out << "model " << architecture_ << ", input " << shape_text(batch_of_one(image_shape_))
      << ", bottleneck tap '" << bottleneck_name() << "'\n"
      << line;
  Shape shape = batch_of_one(image_shape_);
  auto row = [&](const std::string& name, Layer& layer, const Shape& in) {
    const Shape y = layer.output_shape(in);
    std::snprintf(line, sizeof line, "%-14s %-44s %-14s %12lld %12.2f\n", name.c_str(),
                  layer.describe().c_str(), shape_text(y).c_str(),
                  static_cast<long long>(count_parameters(layer)), layer.forward_flops(in) / 1e6);
    out << line;
    return y;
  };
  for (std::size_t i = 0; i < trunk_->size(); ++i) {
    Layer& layer = trunk_->at(i);
    auto* stage = dynamic_cast<Sequential*>(&layer);
    if (stage != nullptr) {  // a ResNet stage: one row per block
      for (std::size_t b = 0; b < stage->size(); ++b)
        shape = row(trunk_->name_at(i) + "." + stage->name_at(b), stage->at(b), shape);
    } else {
      shape = row(trunk_->name_at(i), layer, shape);
    }
  }
  std::snprintf(line, sizeof line, "total: %lld parameters, %.2f MFLOPs forward per image\n",
                static_cast<long long>(parameter_count()), forward_flops_per_image() / 1e6);
  out << line;
  return out.str();
}

}  // namespace sombrero::layers
