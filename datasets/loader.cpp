#include "datasets/loader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <utility>

namespace sombrero::datasets {

namespace {

int default_workers() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores - 1);
}

}  // namespace

Loader::Loader(std::shared_ptr<const Dataset> dataset, const Transform& transform,
               const LoaderOptions& options)
    : dataset_(std::move(dataset)),
      transform_(transform),
      options_(options),
      shape_(transform.output_shape()) {
  SOMBRERO_CHECK(dataset_ != nullptr && dataset_->size() > 0,
                 "the loader needs a non-empty dataset");
  SOMBRERO_CHECK(options_.batch_size >= 1, "batch size must be at least 1, got ",
                 options_.batch_size);
  SOMBRERO_CHECK(options_.prefetch >= 1, "prefetch must be at least 1, got ", options_.prefetch);
  shard_size(static_cast<std::int64_t>(dataset_->size()), options_.shard);  // checks the rank
  const std::size_t batch = static_cast<std::size_t>(options_.batch_size);
  slots_.resize(static_cast<std::size_t>(options_.prefetch) + 1);
  for (Slot& slot : slots_) {
    slot.images = HostBuffer(batch * shape_.pixels(), options_.pinned);
    slot.labels = HostBuffer(batch * sizeof(std::int32_t), options_.pinned);
    slot.samples.resize(batch);
  }
  const int workers = options_.workers > 0 ? options_.workers : default_workers();
  for (int w = 0; w < workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

std::int64_t Loader::batches_per_epoch() const {
  const std::int64_t per_rank =
      shard_size(static_cast<std::int64_t>(dataset_->size()), options_.shard);
  return options_.drop_last ? per_rank / options_.batch_size
                            : (per_rank + options_.batch_size - 1) / options_.batch_size;
}

void Loader::start(const LoaderPosition& position) {
  std::unique_lock lock(mutex_);
  has_epoch_ = false;  // workers claim nothing more; wait for the items they hold
  ready_cv_.wait(lock, [&] { return in_flight_ == 0; });
  const std::int64_t batches = batches_per_epoch();
  SOMBRERO_CHECK(position.epoch >= 0 && position.next_batch >= 0 && position.next_batch <= batches,
                 "cannot resume at epoch ", position.epoch, " batch ", position.next_batch,
                 ": an epoch has ", batches, " batches");
  epoch_ = position.epoch;
  indices_ = shard_indices(static_cast<std::int64_t>(dataset_->size()), options_.shard,
                           options_.shuffle, options_.seed, epoch_);
  num_batches_ = batches;
  total_items_ = std::min<std::int64_t>(static_cast<std::int64_t>(indices_.size()),
                                        batches * options_.batch_size);
  next_batch_ = position.next_batch;
  next_item_ = next_batch_ * options_.batch_size;
  for (Slot& slot : slots_) slot.batch_index = -1;
  error_ = nullptr;
  has_epoch_ = true;
  lock.unlock();
  work_cv_.notify_all();
}

bool Loader::claimable() const {
  return has_epoch_ && !error_ && next_item_ < total_items_ &&
         next_item_ / options_.batch_size < next_batch_ + options_.prefetch;
}

int Loader::batch_count(std::int64_t batch) const {
  return static_cast<int>(
      std::min<std::int64_t>(options_.batch_size, total_items_ - batch * options_.batch_size));
}

const Batch* Loader::next() {
  std::unique_lock lock(mutex_);
  SOMBRERO_CHECK(has_epoch_, "Loader::next() before start()");
  if (error_) std::rethrow_exception(error_);
  if (next_batch_ >= num_batches_) return nullptr;
  const std::int64_t b = next_batch_++;
  work_cv_.notify_all();  // the window moved: batch b - 1's slot is free
  Slot& slot = slots_[static_cast<std::size_t>(b) % slots_.size()];
  const int count = batch_count(b);
  ready_cv_.wait(lock, [&] { return error_ || (slot.batch_index == b && slot.done == count); });
  if (error_) std::rethrow_exception(error_);
  slot.batch = Batch{slot.images.data(),
                     reinterpret_cast<const std::int32_t*>(slot.labels.data()),
                     slot.samples.data(),
                     count,
                     shape_,
                     epoch_,
                     b,
                     slot.images.pinned()};
  return &slot.batch;
}

LoaderPosition Loader::position() const {
  std::lock_guard lock(mutex_);
  return LoaderPosition{epoch_, next_batch_};
}

LoaderStats Loader::stats() const {
  std::lock_guard lock(mutex_);
  return LoaderStats{static_cast<std::int64_t>(unreadable_.size()), replacements_};
}

void Loader::worker_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || claimable(); });
    if (stop_) return;
    const std::int64_t item = next_item_++;
    const std::int64_t b = item / options_.batch_size;
    const int position = static_cast<int>(item % options_.batch_size);
    Slot& slot = slots_[static_cast<std::size_t>(b) % slots_.size()];
    if (position == 0) {  // the first item of a batch claims the slot
      slot.batch_index = b;
      slot.done = 0;
    }
    const std::int64_t sample = indices_[static_cast<std::size_t>(item)];
    const std::int64_t epoch = epoch_;
    ++in_flight_;
    lock.unlock();
    std::exception_ptr failure;
    try {
      fill(slot, position, sample, epoch);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    --in_flight_;
    if (failure && !error_) error_ = failure;
    ++slot.done;
    if (failure || slot.done == batch_count(b) || in_flight_ == 0) ready_cv_.notify_all();
  }
}

void Loader::fill(Slot& slot, int position, std::int64_t sample, std::int64_t epoch) {
  const auto n = static_cast<std::uint64_t>(dataset_->size());
  std::uint8_t* out = slot.images.data() + static_cast<std::size_t>(position) * shape_.pixels();
  SampleRandom replacement(SampleKey{options_.seed, epoch, static_cast<std::uint64_t>(sample)},
                           RandomPurpose::replace);
  std::int64_t index = sample;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    try {
      transform_.load(*dataset_, static_cast<std::size_t>(index),
                      SampleKey{options_.seed, epoch, static_cast<std::uint64_t>(index)}, out);
      reinterpret_cast<std::int32_t*>(slot.labels.data())[position] =
          dataset_->label(static_cast<std::size_t>(index));
      slot.samples[static_cast<std::size_t>(position)] = index;
      return;
    } catch (const UnreadableImage& bad) {
      record_unreadable(index, bad);
      index = static_cast<std::int64_t>(replacement.below(n));
    }
  }
  SOMBRERO_FAIL("found no readable sample to stand in for ", dataset_->describe(sample),
                " in 1000 tries");
}

void Loader::record_unreadable(std::int64_t index, const UnreadableImage& bad) {
  std::lock_guard lock(mutex_);
  ++replacements_;
  if (!unreadable_.insert(index).second) return;
  std::cerr << str("sombrero: warning: skipping unreadable image ", bad.path(), ": ", bad.reason(),
                   "\n")
            << std::flush;
  const double n = static_cast<double>(dataset_->size());
  const auto allowed = static_cast<std::size_t>(std::floor(options_.max_bad_fraction * n));
  SOMBRERO_CHECK(unreadable_.size() <= allowed, unreadable_.size(), " unreadable images out of ",
                 dataset_->size(), " exceed data.max_bad_fraction ", options_.max_bad_fraction,
                 " (", allowed, " allowed); the last: ", bad.path(), ": ", bad.reason());
}

}  // namespace sombrero::datasets
