#include "trainer/gradient_buckets.h"

#include <cstdint>

#include "layers/flat_gradients.h"
#include "runtime/error.h"

namespace sombrero::trainer {

GradientBuckets::GradientBuckets(const std::vector<layers::NamedParameter>& parameters,
                                 double bucket_mb)
    : bucket_mb_(bucket_mb) {
  SOMBRERO_CHECK(bucket_mb > 0, "dist.bucket_mb must be > 0, got ", bucket_mb);
  const auto limit = static_cast<std::int64_t>(bucket_mb * 1e6 / sizeof(float));
  // Cut the reverse parameter order into runs of at most `limit` elements (a tensor larger
  // than the limit gets a bucket of its own).
  std::vector<std::vector<layers::Parameter*>> groups;
  std::vector<std::vector<std::string>> names;
  std::int64_t filled = 0;
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    const runtime::Tensor& grad = it->parameter->grad;
    SOMBRERO_CHECK(grad.dtype() == runtime::DType::f32, "gradient buckets: '", it->name, "' has a ",
                   runtime::dtype_name(grad.dtype()), " gradient; they are f32");
    SOMBRERO_CHECK(grad.device() == parameters.front().parameter->grad.device(),
                   "gradient buckets: '", it->name, "' is on ", to_string(grad.device()),
                   ", the first parameter on ",
                   to_string(parameters.front().parameter->grad.device()));
    if (groups.empty() || (filled > 0 && filled + grad.numel() > limit)) {
      groups.emplace_back();
      names.emplace_back();
      filled = 0;
    }
    groups.back().push_back(it->parameter);
    names.back().push_back(it->name);
    filled += grad.numel();
  }
  for (std::size_t b = 0; b < groups.size(); ++b) {
    Bucket bucket;
    bucket.flat = layers::bind_flat_gradients(groups[b]);  // backward accumulates into it
    for (const layers::Parameter* p : groups[b]) bucket_of_[p] = b;
    size_in_tensors_.push_back(groups[b].size());
    bucket.names = std::move(names[b]);
    tensors_ += bucket.names.size();
    buckets_.push_back(std::move(bucket));
  }
}

void GradientBuckets::zero_grads() {
  for (Bucket& bucket : buckets_) bucket.flat.fill(0.0f);
}

void GradientBuckets::all_reduce_mean(runtime::Communicator& comm) {
  finish(comm);
}

void GradientBuckets::start(std::size_t bucket, runtime::Communicator& comm) {
  comm.start_all_reduce_sum(buckets_[bucket].flat);
  started_[bucket] = true;
}

void GradientBuckets::layer_done(layers::Layer& layer, runtime::Communicator& comm) {
  if (started_.empty()) {  // first layer of this step's backward pass
    remaining_ = size_in_tensors_;
    started_.assign(buckets_.size(), false);
  }
  for (const layers::NamedParameter& p : layer.named_parameters()) {
    const auto it = bucket_of_.find(p.parameter);
    if (it == bucket_of_.end()) continue;  // not a gradient of these buckets
    if (--remaining_[it->second] == 0 && !started_[it->second]) start(it->second, comm);
  }
}

void GradientBuckets::finish(runtime::Communicator& comm) {
  if (started_.empty()) started_.assign(buckets_.size(), false);
  for (std::size_t b = 0; b < buckets_.size(); ++b)
    if (!started_[b]) start(b, comm);
  comm.finish_all_reduces();
  const float scale = 1.0f / static_cast<float>(comm.size());
  for (Bucket& bucket : buckets_) bucket.flat.scale(scale);
  started_.clear();
}

std::string GradientBuckets::describe() const {
  return str(buckets_.size(), buckets_.size() == 1 ? " bucket" : " buckets", " (<= ", bucket_mb_,
             " MB), ", tensors_, " tensors");
}

}  // namespace sombrero::trainer
