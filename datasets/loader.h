// Loader: batches of transformed images from worker threads, in a deterministic order.
//
//   Loader loader(dataset, Transform(spec, *dataset), options);
//   loader.start({epoch, 0});                     // or a position from a checkpoint
//   while (const Batch* batch = loader.next()) {  // nullptr at the end of the epoch
//     ... batch->images (uint8 NHWC), batch->labels (int32) ...
//     checkpoint.data_position = loader.position();
//   }
//
// Order: this rank's samples of the epoch (datasets/sampler.h: a function of seed, epoch,
// rank and world size), cut into batches of batch_size; with drop_last the last incomplete
// batch is dropped. Each sample's augmentation is a function of (seed, epoch, sample index).
// So the batches of an epoch are bit-identical for any number of workers, and a loader
// started at position {epoch, k} returns exactly batches k, k+1, ... of that epoch.
//
// Threads: `workers` threads decode and transform single samples straight into the batch's
// host buffer, at most `prefetch` batches ahead of the one being consumed. A batch returned
// by next() stays valid until the following call to next() or start(). Buffers are pinned
// when the build has CUDA and a device is present (datasets/host_buffer.h).
//
// Bad input: a sample whose file cannot be decoded (UnreadableImage) is skipped with one
// warning line on stderr (path and reason, once per file), counted, and replaced by another
// sample chosen from (seed, epoch, index). When more than max_bad_fraction of the dataset
// has proven unreadable, next() throws an Error saying so. Other errors in a worker are
// rethrown by next().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/host_buffer.h"
#include "datasets/sampler.h"
#include "datasets/transform.h"

namespace sombrero::datasets {

struct LoaderOptions {
  int batch_size = 128;  // per rank
  int workers = -1;      // <= 0: hardware threads - 1, at least 1
  int prefetch = 4;      // batches prepared ahead of the one in use
  bool shuffle = true;
  bool drop_last = true;  // drop this rank's last incomplete batch
  ShardSpec shard;
  std::uint64_t seed = 0;
  double max_bad_fraction = 0.001;
  bool pinned = true;  // page-locked buffers when CUDA and a device are present
};

// Where a run stands in the data: the next batch to read. What a checkpoint stores.
struct LoaderPosition {
  std::int64_t epoch = 0;
  std::int64_t next_batch = 0;
  bool operator==(const LoaderPosition&) const = default;
};

struct Batch {
  const std::uint8_t* images = nullptr;   // size x height x width x channels, NHWC
  const std::int32_t* labels = nullptr;   // size
  const std::int64_t* samples = nullptr;  // dataset index of each image (after replacements)
  int size = 0;
  ImageShape shape;  // of one image
  std::int64_t epoch = 0;
  std::int64_t index = 0;  // within the epoch
  bool pinned = false;
};

struct LoaderStats {
  std::int64_t unreadable_samples = 0;  // distinct samples found unreadable so far
  std::int64_t replacements = 0;        // times a sample was replaced by another
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, const Transform& transform,
         const LoaderOptions& options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Batches per epoch for this rank.
  std::int64_t batches_per_epoch() const;
  int workers() const { return static_cast<int>(threads_.size()); }
  ImageShape image_shape() const { return shape_; }

  // Begins epoch position.epoch at batch position.next_batch (0 for a fresh epoch).
  void start(const LoaderPosition& position);
  // The next batch of the epoch, or nullptr after the last.
  const Batch* next();
  // The position after the batches returned so far: {epoch, index of the next batch}.
  LoaderPosition position() const;
  LoaderStats stats() const;

 private:
  struct Slot {
    HostBuffer images;
    HostBuffer labels;
    std::vector<std::int64_t> samples;
    std::int64_t batch_index = -1;  // which batch the slot is being filled with
    int done = 0;                   // samples of it written
    Batch batch;
  };

  void worker_loop();
  bool claimable() const;
  int batch_count(std::int64_t batch) const;
  void fill(Slot& slot, int position, std::int64_t sample, std::int64_t epoch);
  void record_unreadable(std::int64_t index, const UnreadableImage& bad);

  std::shared_ptr<const Dataset> dataset_;
  Transform transform_;
  LoaderOptions options_;
  ImageShape shape_;
  std::vector<Slot> slots_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;   // workers wait for claimable items
  std::condition_variable ready_cv_;  // next() and start() wait for workers
  bool stop_ = false;
  bool has_epoch_ = false;
  std::int64_t epoch_ = 0;
  std::vector<std::int64_t> indices_;  // this rank's samples of the epoch
  std::int64_t total_items_ = 0;
  std::int64_t num_batches_ = 0;
  std::int64_t next_item_ = 0;   // next sample position to claim
  std::int64_t next_batch_ = 0;  // next batch next() returns
  int in_flight_ = 0;
  std::exception_ptr error_;
  std::unordered_set<std::int64_t> unreadable_;
  std::int64_t replacements_ = 0;

  std::vector<std::thread> threads_;
};

}  // namespace sombrero::datasets
