// `sombrero memory-eval --checkpoint FILE`: the memory-based classifier of the design, with
// no training or tuning. The training set passes through the network once (eval mode, the
// eval transform) and each image leaves its descriptors in a memory: the L2-normalised
// global-average-pooled bottleneck vector and the U(1) element z. Each evaluation image is
// then classified by its k nearest memory vectors (cosine) and by the nearest class-mean
// angle of z (trainer/science/memory_classifier.h; docs/science.md).
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "runtime/error.h"
#include "trainer/cli/command.h"
#include "trainer/cli/science_options.h"
#include "trainer/science/descriptors.h"
#include "trainer/science/memory_classifier.h"

namespace sombrero::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double share_equal(const std::vector<std::int32_t>& predicted,
                   const std::vector<std::int32_t>& labels) {
  std::size_t hits = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) hits += predicted[i] == labels[i];
  return labels.empty() ? 0.0 : double(hits) / double(labels.size());
}

int run_memory_eval(const std::vector<std::string>& args) {
  ArgParser parser(
      "sombrero memory-eval",
      "The memory-based classifier (no training or tuning): stores the bottleneck descriptors\n"
      "of the training set (global-average-pooled vector, L2-normalised, and the U(1) element\n"
      "z), then classifies the evaluation set by k-nearest-neighbour (cosine similarity,\n"
      "majority vote, ties to the nearest) and by the nearest class-mean angle of z. Prints\n"
      "both accuracies beside the trained angle readout (fixed class angles). docs/science.md");
  add_checkpoint_options(parser);
  parser.option("--k", "N", "neighbours in the vote", "1")
      .option("--train-limit", "N", "store at most N training images (0 = all)", "0")
      .option("--limit", "N", "classify at most N evaluation images (0 = all)", "0");
  if (!parser.parse(args)) return 0;
  const trainer::InferenceRequest request = inference_request(parser, "memory-eval");
  const int k = static_cast<int>(integer_option(parser, "--k", 1));
  const auto train_limit = static_cast<std::size_t>(integer_option(parser, "--train-limit", 0));
  const auto limit = static_cast<std::size_t>(integer_option(parser, "--limit", 0));

  trainer::InferenceSetup setup = trainer::prepare_inference(request);
  const int classes = setup.model->num_classes();
  std::printf("memory-eval %s (%s), bottleneck tap '%s'\n", request.checkpoint.c_str(),
              setup.model->architecture().c_str(), setup.model->bottleneck_name().c_str());
  std::fflush(stdout);

  auto start = std::chrono::steady_clock::now();
  auto train_loader = trainer::make_eval_loader(setup, datasets::Split::train);
  const trainer::DescriptorSet memory = trainer::collect_descriptors(
      *setup.model, *train_loader, setup.norm, *setup.loss, train_limit, setup.ctx);
  train_loader.reset();
  const double memory_seconds = seconds_since(start);
  SOMBRERO_CHECK(memory.size() > 0, "memory-eval: the training set produced no images");
  std::printf("memory: %zu training images, %d features each, in %.1f s (%.0f images/s)\n",
              memory.size(), memory.features, memory_seconds,
              double(memory.size()) / memory_seconds);
  std::fflush(stdout);

  start = std::chrono::steady_clock::now();
  auto test_loader = trainer::make_eval_loader(setup, datasets::Split::test);
  const trainer::DescriptorSet queries = trainer::collect_descriptors(
      *setup.model, *test_loader, setup.norm, *setup.loss, limit, setup.ctx);
  const double query_seconds = seconds_since(start);
  SOMBRERO_CHECK(queries.size() > 0, "memory-eval: the evaluation set produced no images");

  start = std::chrono::steady_clock::now();
  const std::vector<std::int32_t> knn =
      trainer::knn_classify(memory.vectors.data(), memory.labels.data(), memory.size(),
                            queries.vectors.data(), queries.size(), memory.features, k, classes);
  const double knn_seconds = seconds_since(start);

  const std::vector<trainer::CircularSummary> class_means =
      trainer::class_angle_summaries(memory.angles, memory.labels, classes);
  std::vector<std::int32_t> by_mean_angle(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i)
    by_mean_angle[i] = trainer::nearest_mean_angle_class(queries.angles[i], class_means);
  int classes_in_memory = 0;
  for (const auto& c : class_means) classes_in_memory += c.n > 0;

  std::printf(
      "evaluation: %zu images in %.1f s (%.0f images/s); kNN search %zu x %zu x %d in "
      "%.2f s (%.0f queries/s)\n",
      queries.size(), query_seconds, double(queries.size()) / query_seconds, queries.size(),
      memory.size(), memory.features, knn_seconds,
      knn_seconds > 0 ? double(queries.size()) / knn_seconds : 0.0);
  std::printf(
      "kNN top-1 (k=%d, cosine) %.2f%%  class-mean-angle top-1 %.2f%% (%d of %d classes "
      "in memory)  trained angle readout top-1 %.2f%% (fixed class angles)\n",
      k, 100 * share_equal(knn, queries.labels), 100 * share_equal(by_mean_angle, queries.labels),
      classes_in_memory, classes, 100 * share_equal(queries.angle_readout, queries.labels));
  return 0;
}

}  // namespace

Command memory_eval_command() {
  return {"memory-eval",
          "memory-based classifier: kNN on bottleneck descriptors and nearest class-mean angle",
          run_memory_eval};
}

}  // namespace sombrero::cli
