// The loader benchmark's routines, for `sombrero bench loader` (benchmarks/ and the CLI call
// these): time decoded + augmented images per second, and write an ImageNet-like JPEG set.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "datasets/loader.h"

namespace sombrero::datasets {

struct LoaderBenchResult {
  std::int64_t images = 0;  // timed images (after warm-up)
  double seconds = 0;
  // The process's CPU time (all threads) over the timed batches: unlike `seconds`, hardly
  // changed by other processes competing for the cores.
  double cpu_seconds = 0;
  int workers = 0;
  double images_per_second() const { return seconds > 0 ? images / seconds : 0; }
  double cpu_ms_per_image() const { return images > 0 ? 1e3 * cpu_seconds / images : 0; }
  double images_per_second_per_worker() const {
    return workers > 0 ? images_per_second() / workers : 0;
  }
};

// Reads `warmup` batches, then times `batches` more (continuing into the next epochs when
// one ends). The consumer does nothing with a batch, so this is the loader's ceiling.
LoaderBenchResult bench_loader(std::shared_ptr<const Dataset> dataset, const Transform& transform,
                               const LoaderOptions& options, std::int64_t batches,
                               std::int64_t warmup = 2);

// Writes `count` ImageNet-like JPEGs into root/class_NNN/ (round robin over `classes`):
// 500x375 or 375x500, quality 90, 4:2:0, smooth random shapes with fine-grained noise so the
// files are about the size of ImageNet's (~100-150 KB). A function of `seed`.
void generate_benchmark_images(const std::string& root, int count, int classes, std::uint64_t seed);

}  // namespace sombrero::datasets
