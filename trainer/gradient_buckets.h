// Data-parallel gradient averaging in buckets (dist.bucket_mb, default 25 MB).
//
// The parameters are grouped in reverse order, the order the backward pass finishes them,
// into buckets of about bucket_mb of f32 gradients, and each Parameter::grad is re-bound to
// a view into its bucket's one flat buffer (values kept). After the backward pass,
// all_reduce_mean() sums each bucket over the ranks in one collective and scales it by
// 1 / world size: exact averaging (sum, then one rounding of the scale), with a few large
// collectives instead of one per tensor (ResNet-50: 161 gradient tensors, 5 buckets) and
// no packing copies. zero_grad, the optimizer and checkpoints see the same Tensors as before.
//
//   GradientBuckets buckets(model.parameters(), config.get<double>("dist.bucket_mb"));
//   ... forward, loss, backward ...
//   buckets.all_reduce_mean(comm);
//
// The parameters must stay where they are while the buckets live (move the model first).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "layers/layer.h"
#include "layers/parameter.h"
#include "runtime/communicator.h"

namespace sombrero::trainer {

class GradientBuckets {
 public:
  GradientBuckets(const std::vector<layers::NamedParameter>& parameters, double bucket_mb);

  // Sums every bucket over comm's ranks and scales it by 1 / size (also for one rank: the
  // trainer calls it only when there are several).
  void all_reduce_mean(runtime::Communicator& comm);

  // The same, overlapped with the backward pass: layer_done(layer) after each trunk layer's
  // backward (Model::backward's after_layer) starts the sum of every bucket whose gradients
  // are then all final (Communicator::start_all_reduce_sum: on NCCL a communication stream
  // while the backward pass goes on); finish() starts what is left, waits, and scales.
  // Buckets start in completion order, which is the same on every rank.
  void layer_done(layers::Layer& layer, runtime::Communicator& comm);
  void finish(runtime::Communicator& comm);

  // Zeroes every bucketed gradient: one fill per bucket (ResNet-50: 5 launches on a device)
  // instead of Model::zero_grad's one per tensor (161).
  void zero_grads();

  struct Bucket {
    runtime::Tensor flat;            // the gradients of the bucket's parameters, back to back
    std::vector<std::string> names;  // in bucket order (reverse parameter order)
  };
  const std::vector<Bucket>& buckets() const { return buckets_; }
  // "5 buckets (25 MB), 161 tensors"
  std::string describe() const;

 private:
  void start(std::size_t bucket, runtime::Communicator& comm);

  std::vector<Bucket> buckets_;
  std::unordered_map<const layers::Parameter*, std::size_t> bucket_of_;
  std::vector<std::size_t> size_in_tensors_, remaining_;  // per bucket, this step
  std::vector<bool> started_;
  std::size_t tensors_ = 0;
  double bucket_mb_;
};

}  // namespace sombrero::trainer
