#include "trainer/science/descriptors.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "runtime/error.h"
#include "trainer/batch_input.h"
#include "trainer/science/memory_classifier.h"

namespace sombrero::trainer {

datasets::Batch truncated(const datasets::Batch& batch, std::size_t keep) {
  datasets::Batch view = batch;
  view.size = static_cast<int>(std::min<std::size_t>(std::size_t(batch.size), keep));
  return view;
}

DescriptorSet collect_descriptors(layers::Model& model, datasets::Loader& loader,
                                  const datasets::Normalization& norm,
                                  const losses::CombinedLoss& loss, std::size_t limit,
                                  layers::Context ctx) {
  ctx.training = false;
  DescriptorSet set;
  loader.start({0, 0});
  while (const datasets::Batch* next = loader.next()) {
    if (limit > 0 && set.size() >= limit) break;
    const datasets::Batch batch =
        truncated(*next, limit > 0 ? limit - set.size() : std::size_t(next->size));
    const runtime::Tensor images = batch_images(batch, norm, ctx);
    const std::vector<std::int32_t> labels = batch_labels(batch);
    const runtime::Tensor logits = model.forward(ctx, images);
    const runtime::Tensor& tap = model.bottleneck();
    const losses::LossOutput phases = loss.forward_only(logits, labels, tap);
    const std::size_t sites = std::size_t(tap.dim(1)) * tap.dim(2);
    const int channels = static_cast<int>(tap.dim(3));
    set.features = channels;
    const runtime::Tensor tap_host = tap.host_f32();
    const float* a = tap_host.data<float>();
    for (int b = 0; b < batch.size; ++b) {
      // Global average pooling of one image's tap, then unit length (cosine = dot product).
      std::vector<double> pooled(std::size_t(channels), 0.0);
      const float* image = a + std::size_t(b) * sites * channels;
      for (std::size_t s = 0; s < sites; ++s)
        for (int c = 0; c < channels; ++c) pooled[std::size_t(c)] += image[s * channels + c];
      const std::size_t row = set.vectors.size();
      for (double p : pooled) set.vectors.push_back(static_cast<float>(p / double(sites)));
      l2_normalize(set.vectors.data() + row, channels);
      const double re = phases.z[2 * std::size_t(b)], im = phases.z[2 * std::size_t(b) + 1];
      set.angles.push_back(std::atan2(im, re));
      set.concentrations.push_back(std::hypot(re, im));
      set.labels.push_back(labels[std::size_t(b)]);
      set.angle_readout.push_back(phases.angle_prediction[std::size_t(b)]);
    }
  }
  return set;
}

}  // namespace sombrero::trainer
