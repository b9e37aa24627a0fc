// The memory-based classifier of the design (docs/science.md): no training or tuning, only a
// memory of training descriptors and two ways to read it.
//   k nearest neighbours: cosine similarity of L2-normalised global-pooled bottleneck vectors;
//     majority vote over the k most similar, a tie in votes going to the class whose
//     neighbour ranks first (the nearest). Similarity ties rank the lower memory index first.
//   nearest class-mean angle: the circular mean of angle(z) of each class over the memory;
//     a query gets the class whose mean angle is circularly nearest to its own angle(z).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "trainer/science/circular_stats.h"

namespace sombrero::trainer {

// Scales v[0..n) to unit L2 norm (an all-zero vector stays zero).
void l2_normalize(float* v, int n);

// Rows are descriptors of `features` floats, row-major and already L2-normalised, so that
// their dot product is the cosine similarity. Returns the predicted class of each query.
// The similarities are computed blockwise as dense products (OpenBLAS sgemm), OpenMP over
// blocks of queries. k is clamped to the memory size; classes bounds the labels.
std::vector<std::int32_t> knn_classify(const float* memory, const std::int32_t* memory_labels,
                                       std::size_t memory_size, const float* queries,
                                       std::size_t query_count, int features, int k, int classes);

// The circular summary of angle(z) per class over the memory (n = 0 for a class with none).
std::vector<CircularSummary> class_angle_summaries(const std::vector<double>& angles,
                                                   const std::vector<std::int32_t>& labels,
                                                   int classes);

// The class whose mean angle is circularly nearest to `angle`, among classes with n > 0
// (ties: the lower class). -1 when no class has any sample.
std::int32_t nearest_mean_angle_class(double angle, const std::vector<CircularSummary>& classes);

}  // namespace sombrero::trainer
