#include "trainer/evaluator.h"

#include <chrono>
#include <cstdint>
#include <fstream>

#include "runtime/error.h"
#include "trainer/accuracy.h"
#include "trainer/batch_input.h"

namespace sombrero::trainer {

EvalResult evaluate(layers::Model& model, datasets::Loader& loader, std::int64_t epoch,
                    const datasets::Normalization& norm, const losses::CombinedLoss& loss,
                    runtime::Communicator& comm, layers::Context ctx) {
  const int classes = static_cast<int>(loss.options().class_angles.size());
  const auto start = std::chrono::steady_clock::now();
  ctx.training = false;
  // counts: samples, top1, top5, angle, loss sum, ce sum, u1 sum, then per-class correct/total
  std::vector<double> counts(7 + 2 * static_cast<std::size_t>(classes), 0.0);
  loader.start({epoch, 0});
  while (const datasets::Batch* batch = loader.next()) {
    const runtime::Tensor images = batch_images(*batch, norm, ctx);
    const std::vector<std::int32_t> labels = batch_labels(*batch);
    const runtime::Tensor logits = model.forward(ctx, images);
    const losses::LossOutput out = loss.forward_only(logits, labels, model.bottleneck());
    const Hits hits = count_hits(logits, labels);
    counts[0] += batch->size;
    counts[1] += hits.top1;
    counts[2] += hits.top5;
    counts[3] += count_equal(out.angle_prediction, labels);
    counts[4] += out.mean.loss * batch->size;
    counts[5] += out.mean.ce * batch->size;
    counts[6] += out.mean.u1 * batch->size;
    for (int b = 0; b < batch->size; ++b) {
      counts[7 + labels[b]] += hits.predictions[b] == labels[b];
      counts[7 + classes + labels[b]] += 1;
    }
  }
  comm.all_reduce_sum(counts);
  EvalResult r;
  r.samples = static_cast<std::int64_t>(counts[0]);
  SOMBRERO_CHECK(r.samples > 0, "evaluation: the evaluation set produced no samples");
  r.top1 = counts[1] / counts[0];
  r.top5 = counts[2] / counts[0];
  r.angle_top1 = counts[3] / counts[0];
  r.loss = counts[4] / counts[0];
  r.ce = counts[5] / counts[0];
  r.u1 = counts[6] / counts[0];
  for (int c = 0; c < classes; ++c) {
    r.class_correct.push_back(static_cast<std::int64_t>(counts[7 + c]));
    r.class_total.push_back(static_cast<std::int64_t>(counts[7 + classes + c]));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.images_per_second = seconds > 0 ? counts[0] / seconds : 0.0;
  return r;
}

void write_per_class_csv(const EvalResult& result, const datasets::Dataset& dataset,
                         const std::string& path) {
  std::ofstream out(path);
  SOMBRERO_CHECK(out.good(), "cannot write per-class accuracy to '", path, "'");
  out << "class,name,correct,total,accuracy\n";
  for (std::size_t c = 0; c < result.class_correct.size(); ++c) {
    std::string name = dataset.class_name(static_cast<int>(c));
    if (name.find_first_of(",\"") != std::string::npos) {
      std::string quoted = "\"";
      for (char ch : name) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      name = quoted + "\"";
    }
    const double accuracy =
        result.class_total[c] > 0 ? double(result.class_correct[c]) / result.class_total[c] : 0.0;
    out << c << "," << name << "," << result.class_correct[c] << "," << result.class_total[c] << ","
        << accuracy << "\n";
  }
}

}  // namespace sombrero::trainer
