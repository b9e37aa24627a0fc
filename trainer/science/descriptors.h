// What the science commands read from a network for each image: the U(1) element z of its
// bottleneck tap (docs/u1.md) and the global-average-pooled bottleneck vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "datasets/loader.h"
#include "datasets/make_dataset.h"
#include "layers/model.h"
#include "trainer/loss_step.h"

namespace sombrero::trainer {

// z per sample as (Re z, Im z) [batch, 2], and the fixed-class-angle readout per sample, of a
// tap activation [batch, h, w, c]: the fused loss kernel called with weight 0 (no gradient
// work), so z is exactly what training and `sombrero eval` see.
struct U1Phases {
  std::vector<float> z;
  std::vector<std::int32_t> angle_readout;
};
U1Phases u1_phases(const runtime::Tensor& tap, const runtime::Tensor& logits,
                   const std::vector<std::int32_t>& labels, const LossSettings& loss);

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
DescriptorSet collect_descriptors(layers::Model& model, datasets::Loader& loader,
                                  const datasets::Normalization& norm, const LossSettings& loss,
                                  std::size_t limit);

// The first `keep` images of a batch (a view: same buffers, smaller size).
datasets::Batch truncated(const datasets::Batch& batch, std::size_t keep);

}  // namespace sombrero::trainer
