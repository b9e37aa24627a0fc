// Layer: the unit a model is built from. Each layer has
//   forward(ctx, x)   -> y        in training mode caches what backward needs (usually x or y)
//   backward(ctx, dy) -> dx       uses the cache of the last forward; accumulates parameter
//                                 gradients (Parameter::grad +=) and returns the input gradient
//   output_shape, forward_flops   for `sombrero info --model` (shapes are NHWC, or [N, F])
//   parameters and buffers, named like PyTorch modules: a layer owns its parameters and its
//   children; names are "<child>.<...>.<parameter>", torchvision's state_dict keys.
//
// Activations are NHWC tensors on any device (cpu: the CPU backend, f32; cuda: the hand-written
// kernels; simt: the same kernel sources run on the CPU), f32 or bf16, and each layer's output
// keeps its input's dtype and device. Parameters are f32 master weights on the activations'
// device (layers/ops/ dispatches each kernel call).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "layers/context.h"
#include "layers/parameter.h"
#include "runtime/tensor.h"

namespace sombrero::layers {

using runtime::Shape;

class Layer {
 public:
  explicit Layer(std::string type) : type_(std::move(type)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  // "Conv2d", "BatchNorm2d", ...
  const std::string& type() const { return type_; }
  // One line of configuration: "Conv2d(32 -> 64, 3x3, stride 1, pad 1, bias)".
  virtual std::string describe() const { return type_; }

  // Output shape for an input shape; throws a clear error for an input the layer refuses.
  virtual Shape output_shape(const Shape& input) const = 0;
  // Floating-point operations of one forward over `input` (a multiply-add counts 2).
  virtual double forward_flops(const Shape& input) const;

  virtual Tensor forward(const Context& ctx, const Tensor& x) = 0;
  virtual Tensor backward(const Context& ctx, const Tensor& dy) = 0;

  // Own parameters and buffers first, then each child's (PyTorch's state_dict order).
  std::vector<NamedParameter> named_parameters(const std::string& prefix = "");
  std::vector<NamedBuffer> named_buffers(const std::string& prefix = "");
  std::vector<NamedState> named_state(const std::string& prefix = "");
  const std::vector<std::pair<std::string, Layer*>>& children() const { return children_; }

 protected:
  Parameter& add_parameter(const std::string& name, const Shape& shape, ParameterRole role,
                           DiskLayout layout = DiskLayout::as_is);
  void add_buffer(const std::string& name, Tensor* tensor);
  void add_counter(const std::string& name, std::int64_t* counter);
  // Registers a child under `name` (its parameters become "name.*") and returns it.
  template <typename L>
  L& add_child(const std::string& name, std::unique_ptr<L> child) {
    L& ref = *child;
    children_.emplace_back(name, child.get());
    owned_children_.push_back(std::move(child));
    return ref;
  }

  // The cache of a training forward, checked by backward.
  static void check_cached(const Tensor& cached, const std::string& layer);

 private:
  std::string type_;
  std::vector<std::pair<std::string, std::unique_ptr<Parameter>>> parameters_;
  std::vector<NamedBuffer> buffers_;  // names local to this layer
  std::vector<std::pair<std::string, Layer*>> children_;
  std::vector<std::unique_ptr<Layer>> owned_children_;
};

// Checks that x is a defined f32 or bf16 tensor of rank `rank` (bf16 not on the cpu device,
// whose backend computes in f32).
void check_input(const Tensor& x, int rank, const std::string& layer);

}  // namespace sombrero::layers
