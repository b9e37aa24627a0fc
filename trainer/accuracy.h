// Softmax top-1 / top-5 hits of a batch of logits, for the training and evaluation counters.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace sombrero::trainer {

struct Hits {
  int top1 = 0, top5 = 0;
  std::vector<std::int32_t> predictions;  // argmax per sample (ties: the lower class)
};

Hits count_hits(const runtime::Tensor& logits, const std::vector<std::int32_t>& labels);

// Samples whose prediction equals the label.
int count_equal(const std::vector<std::int32_t>& predictions,
                const std::vector<std::int32_t>& labels);

}  // namespace sombrero::trainer
