#include "trainer/accuracy.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

#include "runtime/error.h"

namespace sombrero::trainer {

Hits count_hits(const runtime::Tensor& logits, const std::vector<std::int32_t>& labels) {
  const int batch = static_cast<int>(logits.dim(0));
  const int classes = static_cast<int>(logits.dim(1));
  SOMBRERO_CHECK(static_cast<int>(labels.size()) == batch, "accuracy: ", labels.size(),
                 " labels for a batch of ", batch);
  Hits hits;
  hits.predictions.resize(batch);
  const runtime::Tensor host = logits.host_f32();
  const float* row = host.data<float>();
  std::vector<int> order(classes);
  const int k = std::min(5, classes);
  for (int b = 0; b < batch; ++b, row += classes) {
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int i, int j) { return row[i] > row[j] || (row[i] == row[j] && i < j); });
    hits.predictions[b] = order[0];
    hits.top1 += order[0] == labels[b];
    hits.top5 += std::find(order.begin(), order.begin() + k, labels[b]) != order.begin() + k;
  }
  return hits;
}

int count_equal(const std::vector<std::int32_t>& predictions,
                const std::vector<std::int32_t>& labels) {
  int equal = 0;
  for (std::size_t i = 0; i < predictions.size() && i < labels.size(); ++i)
    equal += predictions[i] == labels[i];
  return equal;
}

}  // namespace sombrero::trainer
