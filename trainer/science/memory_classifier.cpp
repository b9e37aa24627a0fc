// kNN search as blocked dense products: for a block of 64 queries and a block of 4096 memory
// rows, one sgemm S = Q M^T (64 x 4096 x features) fills a similarity tile, and each query
// row keeps its k best (similarity, index) pairs in a small sorted list. Each OpenMP thread
// owns a query block and its tile (1 MiB), with OpenBLAS held to one thread inside the region
// (its own threads would oversubscribe the cores), as in kernels/conv/conv2d_cpu.cpp.
// Work: 2 * queries * memory * features flops; the memory is streamed once per query block.
#include "trainer/science/memory_classifier.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels/u1loss/u1_loss.h"
#include "runtime/error.h"

namespace sombrero::trainer {

void l2_normalize(float* v, int n) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += double(v[i]) * v[i];
  if (sum <= 0.0) return;
  const float scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (int i = 0; i < n; ++i) v[i] *= scale;
}

namespace {

struct Neighbour {
  float similarity;
  std::int64_t index;
};

// Inserts (s, index) into `best` (sorted by similarity, descending; size <= k). Candidates
// arrive in increasing index, so an equal similarity ranks after the ones already kept.
void offer(std::vector<Neighbour>& best, int k, float s, std::int64_t index) {
  if (static_cast<int>(best.size()) == k && !(s > best.back().similarity)) return;
  auto at = std::upper_bound(best.begin(), best.end(), s,
                             [](float value, const Neighbour& n) { return value > n.similarity; });
  best.insert(at, Neighbour{s, index});
  if (static_cast<int>(best.size()) > k) best.pop_back();
}

// Majority vote; a tie in votes goes to the class whose neighbour ranks first.
std::int32_t vote(const std::vector<Neighbour>& best, const std::int32_t* labels,
                  std::vector<int>& votes) {
  std::fill(votes.begin(), votes.end(), 0);
  for (const Neighbour& n : best) ++votes[static_cast<std::size_t>(labels[n.index])];
  std::int32_t winner = -1;
  for (const Neighbour& n : best) {  // in rank order: the first class reaching the max wins
    const std::int32_t c = labels[n.index];
    if (winner < 0 || votes[std::size_t(c)] > votes[std::size_t(winner)]) winner = c;
  }
  return winner;
}

}  // namespace

std::vector<std::int32_t> knn_classify(const float* memory, const std::int32_t* memory_labels,
                                       std::size_t memory_size, const float* queries,
                                       std::size_t query_count, int features, int k, int classes) {
  SOMBRERO_CHECK(memory_size > 0, "kNN: the memory is empty");
  SOMBRERO_CHECK(k >= 1, "kNN: k must be at least 1, got ", k);
  SOMBRERO_CHECK(features > 0 && classes > 0, "kNN: features (", features, ") and classes (",
                 classes, ") must be positive");
  for (std::size_t i = 0; i < memory_size; ++i)
    SOMBRERO_CHECK(memory_labels[i] >= 0 && memory_labels[i] < classes, "kNN: memory label ",
                   memory_labels[i], " of row ", i, " is outside [0, ", classes, ")");
  k = static_cast<int>(std::min<std::size_t>(std::size_t(k), memory_size));
  constexpr std::size_t query_block = 64, memory_block = 4096;
  const std::size_t blocks = (query_count + query_block - 1) / query_block;
  std::vector<std::int32_t> predictions(query_count, -1);

  const int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
#pragma omp parallel
  {
    std::vector<float> tile(query_block * memory_block);
    std::vector<std::vector<Neighbour>> best(query_block);
    std::vector<int> votes(static_cast<std::size_t>(classes));
#pragma omp for schedule(dynamic)
    for (std::size_t block = 0; block < blocks; ++block) {
      const std::size_t q0 = block * query_block;
      const std::size_t rows = std::min(query_block, query_count - q0);
      for (std::size_t r = 0; r < rows; ++r) best[r].clear();
      for (std::size_t m0 = 0; m0 < memory_size; m0 += memory_block) {
        const std::size_t cols = std::min(memory_block, memory_size - m0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(cols), features, 1.0f,
                    queries + q0 * features, features, memory + m0 * features, features, 0.0f,
                    tile.data(), int(cols));
        for (std::size_t r = 0; r < rows; ++r) {
          const float* s = tile.data() + r * cols;
          for (std::size_t c = 0; c < cols; ++c) offer(best[r], k, s[c], std::int64_t(m0 + c));
        }
      }
      for (std::size_t r = 0; r < rows; ++r)
        predictions[q0 + r] = vote(best[r], memory_labels, votes);
    }
  }
  openblas_set_num_threads(blas_threads);
  return predictions;
}

std::vector<CircularSummary> class_angle_summaries(const std::vector<double>& angles,
                                                   const std::vector<std::int32_t>& labels,
                                                   int classes) {
  SOMBRERO_CHECK(angles.size() == labels.size(), "class angles: ", angles.size(), " angles for ",
                 labels.size(), " labels");
  std::vector<CircularAccumulator> accumulators(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < angles.size(); ++i) {
    SOMBRERO_CHECK(labels[i] >= 0 && labels[i] < classes, "class angles: label ", labels[i],
                   " outside [0, ", classes, ")");
    accumulators[std::size_t(labels[i])].add(angles[i]);
  }
  std::vector<CircularSummary> summaries;
  for (const CircularAccumulator& a : accumulators) summaries.push_back(a.summary());
  return summaries;
}

std::int32_t nearest_mean_angle_class(double angle, const std::vector<CircularSummary>& classes) {
  // The fixed-angle readout's rule (kernels::nearest_class_angle) over the classes present.
  std::vector<float> means;
  std::vector<std::int32_t> ids;
  for (std::size_t c = 0; c < classes.size(); ++c)
    if (classes[c].n > 0) {
      means.push_back(static_cast<float>(classes[c].mean_angle));
      ids.push_back(static_cast<std::int32_t>(c));
    }
  if (ids.empty()) return -1;
  return ids[std::size_t(kernels::nearest_class_angle(angle, means.data(), int(means.size())))];
}

}  // namespace sombrero::trainer
