// Weights in the activations' precision, converted for the whole model in one launch.
//
// A bf16 forward reads every Conv2d's and Linear's weight as bf16, rounded from its f32 master
// weight at each forward (the master changes at every optimizer step). Done by each layer for
// itself that is one conversion launch per layer: 55 in ResNet-50, 0.32 ms of the 58 ms H200
// step. Model::forward instead converts them all together first (runtime::to_bf16_together)
// and offers each layer its copy; the layer's next forward takes it (once) instead of
// converting its own, and a layer run on its own converts as before. The copies are the same
// bits either way.
#pragma once

#include <vector>

#include "layers/parameter.h"
#include "runtime/dtype.h"
#include "runtime/tensor.h"

namespace sombrero::layers {

class Layer;

// A layer whose forward reads one weight in the activations' dtype.
class ComputeWeightUser {
 public:
  virtual ~ComputeWeightUser() = default;
  virtual const Parameter& master_weight() const = 0;
  // The copy its next forward takes, if it matches that forward's dtype; replaces any earlier
  // one not yet taken.
  void offer_compute_weight(Tensor weight) { offered_ = std::move(weight); }
  // Drops an offered copy not taken (Model::forward, when it ends).
  void discard_compute_weight() { offered_ = Tensor(); }

 protected:
  // The master weight in `dtype`: the master itself for f32, else the offered copy when it
  // is of that dtype, shape and device (taken: used once), else a conversion now.
  Tensor compute_weight(runtime::DType dtype);

 private:
  Tensor offered_;
};

// Every ComputeWeightUser under `root` (root included), in tree order.
std::vector<ComputeWeightUser*> compute_weight_users(Layer& root);

// Converts the master weights of `users` to `dtype` together (bf16: one launch per 64 on a
// CUDA device) and offers each its copy; nothing for f32.
void offer_compute_weights(const std::vector<ComputeWeightUser*>& users, runtime::DType dtype);

}  // namespace sombrero::layers
