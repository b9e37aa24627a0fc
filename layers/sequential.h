// Sequential: children run in order; backward in reverse. Children are named "0", "1", ...
// (nn.Sequential) unless a name is given (the top level of a model: "conv1", "layer1", "fc").
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "layers/layer.h"

namespace sombrero::layers {

class Sequential : public Layer {
 public:
  Sequential() : Layer("Sequential") {}

  // Appends a layer named by its index (or `name`) and returns it.
  template <typename L>
  L& add(std::unique_ptr<L> layer, const std::string& name = "") {
    return add_child(name.empty() ? std::to_string(children().size()) : name, std::move(layer));
  }
  std::size_t size() const { return children().size(); }
  Layer& at(std::size_t i) const { return *children()[i].second; }
  const std::string& name_at(std::size_t i) const { return children()[i].first; }

  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;
  // The same, calling after_child with each child as soon as its backward has returned.
  Tensor backward(const Context& ctx, const Tensor& dy,
                  const std::function<void(Layer&)>& after_child);
};

}  // namespace sombrero::layers
