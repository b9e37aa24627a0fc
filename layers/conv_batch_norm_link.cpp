#include "layers/conv_batch_norm_link.h"

#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/residual.h"
#include "layers/sequential.h"

namespace sombrero::layers {
namespace {

// The BatchNorm2d whose output (after its ReLU, or its residual block's sum and ReLU) is
// `layer`'s output: the layer itself, a residual block's last, a Sequential's last child's.
BatchNorm2d* output_batch_norm(Layer& layer) {
  if (auto* batch_norm = dynamic_cast<BatchNorm2d*>(&layer)) return batch_norm;
  if (auto* block = dynamic_cast<ResidualBlock*>(&layer)) return &block->last_batch_norm();
  if (auto* sequential = dynamic_cast<Sequential*>(&layer))
    return sequential->children().empty()
               ? nullptr
               : output_batch_norm(*sequential->children().back().second);
  return nullptr;
}

// The Conv2d that takes `layer`'s input as its own and writes (last) its input gradient: the
// layer itself, a residual block's first (the shortcut's gradient is added to first), a
// Sequential's first child's.
Conv2d* input_conv(Layer& layer) {
  if (auto* conv = dynamic_cast<Conv2d*>(&layer)) return conv;
  if (auto* block = dynamic_cast<ResidualBlock*>(&layer)) return &block->first_conv();
  if (auto* sequential = dynamic_cast<Sequential*>(&layer))
    return sequential->children().empty() ? nullptr
                                          : input_conv(*sequential->children().front().second);
  return nullptr;
}

}  // namespace

int link_conv_batch_norm_pairs(Layer& root) {
  int linked = 0;
  const auto& children = root.children();
  for (std::size_t i = 0; i < children.size(); ++i) {
    linked += link_conv_batch_norm_pairs(*children[i].second);
    if (i + 1 == children.size()) continue;
    auto* conv = dynamic_cast<Conv2d*>(children[i].second);
    auto* batch_norm = dynamic_cast<BatchNorm2d*>(children[i + 1].second);
    if (conv != nullptr && batch_norm != nullptr) {
      conv->feed_statistics_to(batch_norm);
      ++linked;
    }
    BatchNorm2d* producer = output_batch_norm(*children[i].second);
    Conv2d* consumer = input_conv(*children[i + 1].second);
    if (producer != nullptr && consumer != nullptr) {
      consumer->take_gradient_sums_for(producer);
      ++linked;
    }
  }
  return linked;
}

}  // namespace sombrero::layers
