#include "layers/sequential.h"

#include "runtime/error.h"
#include "runtime/kernel_profiler.h"

namespace sombrero::layers {

std::string Sequential::describe() const {
  return str("Sequential(", size(), " layers)");
}

Shape Sequential::output_shape(const Shape& input) const {
  Shape shape = input;
  for (const auto& [name, layer] : children()) shape = layer->output_shape(shape);
  return shape;
}

double Sequential::forward_flops(const Shape& input) const {
  double flops = 0.0;
  Shape shape = input;
  for (const auto& [name, layer] : children()) {
    flops += layer->forward_flops(shape);
    shape = layer->output_shape(shape);
  }
  return flops;
}

Tensor Sequential::forward(const Context& ctx, const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, layer] : children()) {
    const runtime::kernel_profiler::Scope scope(name);  // bench train-step --profile
    y = layer->forward(ctx, y);
  }
  return y;
}

Tensor Sequential::backward(const Context& ctx, const Tensor& dy) {
  return backward(ctx, dy, {});
}

Tensor Sequential::backward(const Context& ctx, const Tensor& dy,
                            const std::function<void(Layer&)>& after_child) {
  Tensor g = dy;
  for (auto it = children().rbegin(); it != children().rend(); ++it) {
    const runtime::kernel_profiler::Scope scope(it->first);
    g = it->second->backward(ctx, g);
    if (after_child) after_child(*it->second);
  }
  return g;
}

}  // namespace sombrero::layers
