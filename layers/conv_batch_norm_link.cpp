#include "layers/conv_batch_norm_link.h"

#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"

namespace sombrero::layers {

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
    auto* producer = dynamic_cast<BatchNorm2d*>(children[i].second);
    auto* consumer = dynamic_cast<Conv2d*>(children[i + 1].second);
    if (producer != nullptr && consumer != nullptr) {
      consumer->take_gradient_sums_for(producer);
      ++linked;
    }
  }
  return linked;
}

}  // namespace sombrero::layers
