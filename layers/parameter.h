// Parameters and buffers of layers.
//
// A Parameter is a trainable f32 tensor (the master weight) with its gradient, which
// backward accumulates into (zero it with Model::zero_grad before a step). Its role says
// whether weight decay applies (optim.no_decay_bn_bias excludes norm and bias parameters)
// and its on-disk layout how safetensors import/export converts it: convolution weights are
// KRSC [out, kh, kw, in] in memory and OIHW [out, in, kh, kw] on disk (PyTorch's layout).
// A buffer is non-trained state saved with the weights: BatchNorm's running statistics (f32
// tensors) and num_batches_tracked (an int64 counter).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace sombrero::layers {

enum class ParameterRole { weight, bias, norm_weight, norm_bias };
enum class DiskLayout { as_is, krsc_as_oihw };

struct Parameter {
  Tensor value;  // f32 master weight
  Tensor grad;   // f32, same shape; accumulated by backward
  ParameterRole role = ParameterRole::weight;
  DiskLayout layout = DiskLayout::as_is;

  // False for norm weights/biases and biases when `no_decay_bn_bias` is set.
  bool decays(bool no_decay_bn_bias) const {
    return !no_decay_bn_bias || role == ParameterRole::weight;
  }
};

struct NamedParameter {
  std::string name;  // full, dotted, torchvision-compatible: "layer1.0.conv1.weight"
  Parameter* parameter = nullptr;
};

// Exactly one of tensor / counter is set.
struct NamedBuffer {
  std::string name;  // "bn1.running_mean", "bn1.num_batches_tracked"
  Tensor* tensor = nullptr;
  std::int64_t* counter = nullptr;
};

// One entry of a state dict, in PyTorch's order (per module: parameters, buffers, then
// children): exactly one of parameter / buffer is set.
struct NamedState {
  std::string name;
  Parameter* parameter = nullptr;
  NamedBuffer buffer;
};

}  // namespace sombrero::layers
