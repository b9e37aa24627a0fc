// BatchNorm2d over the channels of NHWC activations, as PyTorch's nn.BatchNorm2d:
// training mode normalises with the batch statistics and updates the running statistics
// (momentum, unbiased running variance, num_batches_tracked += 1); eval mode normalises with
// the running statistics. Math: kernels/norm/batch_norm.h.
// Parameters "weight" (gamma, init 1), "bias" (beta, init 0); buffers "running_mean" (0),
// "running_var" (1), "num_batches_tracked" (int64, 0). Option relu fuses a following ReLU (it
// has no parameters, so names and weights are unchanged). With Context::batch_norm_sync set
// (model.sync_bn), training statistics span the ranks (layers/sync_batch_norm.h).
#pragma once

#include <cstdint>

#include "layers/layer.h"

namespace sombrero::layers {

struct BatchNorm2dOptions {
  int channels = 1;
  float eps = 1e-5f;
  float momentum = 0.1f;
  bool relu = false;  // BatchNorm2d followed by ReLU, fused (one pass less each way)
};

class BatchNorm2d : public Layer {
 public:
  explicit BatchNorm2d(const BatchNorm2dOptions& options);

  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  double forward_flops(const Shape& input) const override;
  Tensor forward(const Context& ctx, const Tensor& x) override;
  Tensor backward(const Context& ctx, const Tensor& dy) override;
  // y = max(bn(x) + residual, 0): a residual block's last BatchNorm, its sum and ReLU in one
  // pass on a device. For a BatchNorm without its own ReLU; backward then takes the gradient
  // already masked by that ReLU (the caller's), as after forward, or see below.
  Tensor forward_add_relu(const Context& ctx, const Tensor& x, const Tensor& residual);
  // Backward through that ReLU too: dy is the gradient of y = max(bn(x) + residual, 0) (y is
  // `relu_output`); writes the masked gradient g = dy where y > 0 (what the residual takes)
  // into `masked_gradient` and returns the gradient of x, in the same passes (one pass and
  // one launch fewer than a ReLU backward before backward). Where the next block's first
  // convolution offered this layer its backward sums for dy (offer_gradient_sums), dy is
  // already masked: masked_gradient is then dy itself.
  Tensor backward_through_relu(const Context& ctx, const Tensor& dy, const Tensor& relu_output,
                               Tensor& masked_gradient);

  Parameter& weight() { return *weight_; }
  Parameter& bias() { return *bias_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }
  std::int64_t num_batches_tracked() const { return num_batches_tracked_; }

  // Statistics of `produced` computed by the convolution that wrote it (Conv2d, when linked by
  // link_conv_batch_norm_pairs): the next training forward uses them, instead of two passes
  // over its input, if that input is this very tensor; either way they are used once.
  void offer_statistics(const Tensor& produced, Tensor statistics, int tile_rows);
  // Whether the last training forward used offered statistics.
  bool used_offered_statistics() const { return used_offered_statistics_; }

  // For the Conv2d whose input is this layer's output (Conv2d::take_gradient_sums_for, linked
  // by link_conv_batch_norm_pairs): whether its backward-data epilogue can compute this
  // layer's backward sums, i.e. the last training forward (with the fused ReLU, or a residual
  // block's sum and ReLU; no SyncBatchNorm) produced `consumer_input`; then *input and *mean
  // are this layer's input and batch mean, which that epilogue reads, and *affine the
  // forward's [scale | shift] where the output is max(x scale + shift, 0) on a device (its
  // own ReLU, no residual), from which the epilogue can recompute the ReLU's mask; else null.
  bool gradient_sums_inputs(const Tensor& consumer_input, const Tensor** input, const Tensor** mean,
                            const Tensor** affine) const;
  // The backward sums of `gradient` (the gradient of this layer's output, already masked by
  // its ReLU) that such a convolution computed: the next backward uses them, instead of a
  // pass over its input, gradient and output, if its dy is this very tensor; either way they
  // are used once.
  void offer_gradient_sums(const Tensor& gradient, Tensor partials, std::int64_t tiles);
  // Whether the last backward used offered sums.
  bool used_offered_gradient_sums() const { return used_offered_gradient_sums_; }

 private:
  Tensor run_forward(const Context& ctx, const Tensor& x, const Tensor* residual);
  // Whether offered backward sums describe this very gradient tensor.
  bool has_gradient_sums_for(const Tensor& dy) const;

  BatchNorm2dOptions options_;
  Parameter* weight_ = nullptr;
  Parameter* bias_ = nullptr;
  Tensor running_mean_, running_var_;
  std::int64_t num_batches_tracked_ = 0;
  Tensor cached_input_, cached_output_, save_mean_, save_invstd_;
  Tensor affine_;  // the last training forward's [scale | shift] (gradient_sums_inputs)
  runtime::Communicator* sync_ = nullptr;  // the last training forward's SyncBatchNorm ranks
  Tensor offered_for_, offered_statistics_;
  int offered_tile_rows_ = 0;
  bool used_offered_statistics_ = false;
  Tensor offered_gradient_, offered_gradient_partials_;
  std::int64_t offered_gradient_tiles_ = 0;
  bool used_offered_gradient_sums_ = false;
};

}  // namespace sombrero::layers
