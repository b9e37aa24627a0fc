// What the science commands read from a network for each image: the U(1) element z of its
// bottleneck tap (docs/u1.md) and the global-average-pooled bottleneck vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "datasets/loader.h"
#include "datasets/make_dataset.h"
#include "layers/model.h"
#include "losses/combined_loss.h"

namespace sombrero::trainer {

// The descriptors of a set of images, in loader order.
struct DescriptorSet {
  int features = 0;                         // channels of the tap
  std::vector<float> vectors;               // [size, features], L2-normalised pooled tap
  std::vector<double> angles;               // angle(z), radians (0 when z = 0)
  std::vector<double> concentrations;       // |z|
  std::vector<std::int32_t> labels;         // true class
  std::vector<std::int32_t> angle_readout;  // nearest fixed class angle theta_c
  std::size_t size() const { return labels.size(); }
};

// Runs the model in eval mode over the loader's epoch 0 (at most `limit` images; 0 = all).
// z and the readout come from the loss's forward pass, exactly what training and
// `sombrero eval` see. ctx: the model's device and precision (training is switched off).
DescriptorSet collect_descriptors(layers::Model& model, datasets::Loader& loader,
                                  const datasets::Normalization& norm,
                                  const losses::CombinedLoss& loss, std::size_t limit,
                                  layers::Context ctx = {});

// The first `keep` images of a batch (a view: same buffers, smaller size).
datasets::Batch truncated(const datasets::Batch& batch, std::size_t keep);

}  // namespace sombrero::trainer
