// Linear: y [N, out] = x [N, in] W^T + b, weight [out, in] as PyTorch's nn.Linear (same layout
// on disk), default init U(-1/sqrt(in), 1/sqrt(in)) for both, as PyTorch. With bf16
// activations the GEMMs take a bf16 copy of the f32 master weight; its gradient stays f32.
// Flatten: [N, H, W, C] -> [N, H W C] (a view; NHWC order, so a PyTorch model's NCHW-flattened
// Linear weights need their columns permuted to load; the zoo's ResNets pool globally and
// are unaffected).
#pragma once

#include "layers/compute_weights.h"
#include "layers/layer.h"

namespace sombrero::layers {

struct LinearOptions {
  int in_features = 1;
  int out_features = 1;
  bool bias = true;
};

class Linear : public Layer, public ComputeWeightUser {
 public:
  explicit Linear(const LinearOptions& options);
  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;

  Parameter& weight() { return *weight_; }
  const Parameter& master_weight() const override { return *weight_; }
  Parameter* bias() { return bias_; }

 private:
  LinearOptions options_;
  Parameter* weight_ = nullptr;
  Parameter* bias_ = nullptr;
  Tensor cached_input_;
  Tensor cached_weight_bf16_;  // bf16 activations: the rounded weight, kept for backward-data
};

class Flatten : public Layer {
 public:
  Flatten() : Layer("Flatten") {}
  Shape output_shape(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;

 private:
  Shape cached_input_shape_;
};

}  // namespace sombrero::layers
