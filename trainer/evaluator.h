// Evaluation of a model over a loader: softmax top-1 and top-5, the angle-readout top-1,
// the mean loss and its parts, per-class accuracy, and throughput. With several ranks the
// counts are summed over ranks (each rank evaluates its shard).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/loader.h"
#include "datasets/make_dataset.h"
#include "layers/model.h"
#include "losses/combined_loss.h"
#include "runtime/communicator.h"

namespace sombrero::trainer {

struct EvalResult {
  double top1 = 0, top5 = 0, angle_top1 = 0;  // fractions in [0, 1]
  double loss = 0, ce = 0, u1 = 0;            // means over samples
  std::int64_t samples = 0;
  double images_per_second = 0;
  std::vector<std::int64_t> class_correct, class_total;
};

EvalResult evaluate(layers::Model& model, datasets::Loader& loader, std::int64_t epoch,
                    const datasets::Normalization& norm, const losses::CombinedLoss& loss,
                    runtime::Communicator& comm, layers::Context ctx = {});

// Per-class accuracy as CSV: "class,name,correct,total,accuracy".
void write_per_class_csv(const EvalResult& result, const datasets::Dataset& dataset,
                         const std::string& path);

}  // namespace sombrero::trainer
