#include "trainer/science/analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

#include "runtime/error.h"
#include "trainer/batch_input.h"
#include "trainer/science/descriptors.h"

namespace sombrero::trainer {

Analysis analyze_model(layers::Model& model, datasets::Loader& loader,
                       const datasets::Normalization& norm, const losses::CombinedLoss& loss,
                       const AnalysisOptions& options, layers::Context ctx) {
  const auto start = std::chrono::steady_clock::now();
  ctx.training = false;
  layers::Sequential& trunk = model.trunk();
  const int classes = model.num_classes();
  std::vector<EnergyMapAccumulator> energy(trunk.size());
  std::vector<int> channels(trunk.size(), 0);
  std::vector<std::vector<double>> class_angles(static_cast<std::size_t>(classes));
  std::vector<double> concentration(static_cast<std::size_t>(classes), 0.0);
  Analysis result;
  result.tap = model.bottleneck_name();
  std::vector<std::int64_t> readout_correct(static_cast<std::size_t>(classes), 0);
  CircularAccumulator all_classes;

  loader.start({0, 0});
  while (const datasets::Batch* next = loader.next()) {
    const std::size_t seen = static_cast<std::size_t>(result.images);
    if (options.limit > 0 && seen >= options.limit) break;
    const datasets::Batch batch =
        truncated(*next, options.limit > 0 ? options.limit - seen : std::size_t(next->size));
    const std::vector<std::int32_t> labels = batch_labels(batch);
    runtime::Tensor y = batch_images(batch, norm, ctx);
    runtime::Tensor tap;
    for (std::size_t i = 0; i < trunk.size(); ++i) {
      y = trunk.at(i).forward(ctx, y);
      if (y.rank() == 4) {
        energy[i].add(y);
        channels[i] = static_cast<int>(y.dim(3));
      }
      if (trunk.name_at(i) == result.tap) tap = y;
    }
    SOMBRERO_CHECK(y.rank() == 2 && y.dim(1) == classes, "analyze: the trunk's output is not ",
                   "[N, ", classes, "] logits");
    if (y.dtype() != runtime::DType::f32) y = y.to_dtype(runtime::DType::f32);  // logits
    const losses::LossOutput phases = loss.forward_only(y, labels, tap);
    const runtime::Tensor logits_host = y.host_f32();
    const float* logits = logits_host.data<float>();
    for (int b = 0; b < batch.size; ++b) {
      const std::size_t c = static_cast<std::size_t>(labels[std::size_t(b)]);
      const double re = phases.z[2 * std::size_t(b)], im = phases.z[2 * std::size_t(b) + 1];
      class_angles[c].push_back(std::atan2(im, re));
      all_classes.add(std::atan2(im, re));
      concentration[c] += std::hypot(re, im);
      const bool readout_hit = phases.angle_prediction[std::size_t(b)] == labels[std::size_t(b)];
      readout_correct[c] += readout_hit;
      result.readout_correct += readout_hit;
      const float* row = logits + std::size_t(b) * classes;
      result.softmax_correct +=
          std::max_element(row, row + classes) - row == labels[std::size_t(b)];
    }
    result.images += batch.size;
  }
  SOMBRERO_CHECK(result.images > 0, "analyze: the evaluation set produced no images");

  for (std::size_t i = 0; i < trunk.size(); ++i) {
    if (energy[i].images() == 0) continue;
    LayerEnergy layer;
    layer.name = trunk.name_at(i);
    layer.height = energy[i].height();
    layer.width = energy[i].width();
    layer.channels = channels[i];
    layer.mean_map = energy[i].mean();
    layer.profile = radial_profile(layer.mean_map, layer.height, layer.width, options.radial_bins);
    result.layers.push_back(std::move(layer));
  }
  for (int c = 0; c < classes; ++c) {
    const std::size_t k = static_cast<std::size_t>(c);
    ClassPhase p;
    p.label = c;
    p.class_angle = loss.options().class_angles[k];
    p.stats = circular_summary(class_angles[k]);
    p.mean_concentration = p.stats.n > 0 ? concentration[k] / double(p.stats.n) : 0.0;
    p.histogram = circular_histogram(class_angles[k], options.histogram_bins);
    p.readout_correct = readout_correct[k];
    result.classes.push_back(std::move(p));
  }
  result.all_classes = all_classes.summary();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace sombrero::trainer
