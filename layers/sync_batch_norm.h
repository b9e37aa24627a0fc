// SyncBatchNorm's training passes (model.sync_bn): BatchNorm2d whose batch statistics span
// every rank of a communicator, as torch.nn.SyncBatchNorm. Composed from the BatchNorm and
// pointwise ops (so it runs on every device the layers run on), with two host all-reduces of
// per-channel doubles per pass:
//   forward   local mean and variance (the training kernel, momentum 0), all-reduced as
//             (M_r, M_r mean_r, M_r (var_r + mean_r^2)) into the global mean and biased
//             variance over M = sum M_r rows; y by the inference kernel on those; running
//             statistics updated from them (unbiased with M), identical on every rank.
//   backward  with g = dy (masked by the fused ReLU's output), the local sums sum g and
//             sum g xhat (the training backward kernel, xhat from the global statistics) are
//             all-reduced; dx = a g + b xhat + d with a = gamma invstd, b = -a S_gx / M,
//             d = -a S_g / M, evaluated as two affine passes (the inference kernel) and an
//             add. dgamma and dbeta receive the LOCAL sums: the gradient averaging over ranks
//             that follows the backward pass makes them global, as for every other parameter.
// Cost: about twice the passes over the activations of the fused per-process kernels, plus
// 2 x 3C and 2C doubles over the network per layer and step.
#pragma once

#include "runtime/communicator.h"
#include "runtime/tensor.h"

namespace sombrero::layers {

struct SyncBatchNormArgs {
  float eps = 1e-5f;
  float momentum = 0.1f;
  bool relu = false;
};

// Writes y, save_mean, save_invstd (global statistics); updates the running statistics.
void sync_batch_norm_forward(runtime::Communicator& comm, const SyncBatchNormArgs& args,
                             const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                             Tensor& running_mean, Tensor& running_var, Tensor& save_mean,
                             Tensor& save_invstd);

// Overwrites dx; adds the local sums to dgamma and dbeta. y: the forward's output (for the
// fused ReLU's mask; ignored without relu).
void sync_batch_norm_backward(runtime::Communicator& comm, const SyncBatchNormArgs& args,
                              const Tensor& x, const Tensor& y, const Tensor& dy,
                              const Tensor& gamma, const Tensor& save_mean,
                              const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta);

}  // namespace sombrero::layers
