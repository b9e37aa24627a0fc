// Model: a network as the trainer drives it. A trunk of named top-level layers (torchvision's
// module names: "conv1", "bn1", "layer1", ..., "fc") run in order, and the bottleneck tap: the
// output of one trunk layer (default: the last spatial map before global pooling, after its
// ReLU) that the loss reads and may send a gradient into.
//
//   Context ctx;                                       // CPU, training, f32
//   model.zero_grad();
//   Tensor logits = model.forward(ctx, images);        // images NHWC [N, H, W, C]
//   const Tensor& a = model.bottleneck();              // [N, h, w, c], e.g. 7x7x64
//   Tensor& da = model.bottleneck_grad();              // zeros [N, h, w, c]; the loss adds
//   ... fused loss: writes dlogits, da += dL_u1/dA ...
//   model.backward(ctx, dlogits);                      // grads accumulate in parameters
//
// backward adds bottleneck_grad() (when it was asked for since the forward) to the gradient
// arriving at the tap, then continues down. Parameter and buffer names are torchvision's
// state_dict keys; parameters are f32 tensors (layers/parameter.h).
//
// Devices: a model is built on the cpu; Model::to(device) moves every parameter (value and
// grad) and every buffer tensor (BatchNorm running statistics) to cuda:i or simt. The images
// must be on device(). Whatever the activations' dtype (f32, or bf16 on cuda / simt), the
// logits leave forward as f32, and backward takes f32 dlogits and converts them to the dtype
// of the last forward's activations. bottleneck_grad() has the bottleneck's device and dtype.
// An optimizer keeps state on the parameters' device: build Sgd after Model::to.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace sombrero::layers {

class Model {
 public:
  // `image_shape` is one image [H, W, C] (for summaries); `bottleneck` names a trunk layer
  // whose output is rank 4, "" picks the default. Throws naming the valid choices.
  Model(std::string architecture, std::unique_ptr<Sequential> trunk, const Shape& image_shape,
        const std::string& bottleneck = "");

  const std::string& architecture() const { return architecture_; }
  const Shape& image_shape() const { return image_shape_; }
  Sequential& trunk() { return *trunk_; }
  int num_classes() const;

  Tensor forward(const Context& ctx, const Tensor& images);
  // after_layer, when given, is called with each trunk layer (and for a stage, a Sequential
  // such as ResNet's layer1..4, with each of its blocks instead) as soon as its backward has
  // returned, last first: from then on its parameters' gradients are final, which is when
  // data parallelism may start reducing them (trainer/gradient_buckets.h).
  void backward(const Context& ctx, const Tensor& dlogits,
                const std::function<void(Layer&)>& after_layer = {});

  // The tap of the last forward, its trunk name, and its gradient buffer (zeros on first
  // access after a forward; the loss accumulates into it).
  const Tensor& bottleneck() const;
  Tensor& bottleneck_grad();
  const std::string& bottleneck_name() const { return trunk_->name_at(tap_index_); }
  // Trunk layer names whose output is rank 4 (valid bottleneck choices).
  std::vector<std::string> spatial_layer_names() const;

  std::vector<NamedParameter> parameters() { return trunk_->named_parameters(); }
  std::vector<NamedBuffer> buffers() { return trunk_->named_buffers(); }
  std::vector<NamedState> state() { return trunk_->named_state(); }  // state_dict order
  std::int64_t parameter_count();
  void zero_grad();  // on any device

  // Moves every parameter value and grad and every buffer tensor to `device` (replacing the
  // Tensors in place; counters stay on the host). Drops the last forward's bottleneck.
  void to(runtime::Device device);
  runtime::Device device() const { return device_; }

  // Forward FLOPs of one image, and a table for `sombrero info --model`: each trunk layer
  // (and each block of a stage) with its output shape, parameters and forward MFLOPs.
  double forward_flops_per_image() const;
  std::string summary();

 private:
  std::string architecture_;
  std::unique_ptr<Sequential> trunk_;
  Shape image_shape_;
  std::size_t tap_index_ = 0;
  Tensor bottleneck_, bottleneck_grad_;
  runtime::Device device_ = runtime::Device::cpu();
  runtime::DType activation_dtype_ = runtime::DType::f32;  // of the last forward's logits
};

}  // namespace sombrero::layers
