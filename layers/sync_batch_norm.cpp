#include "layers/sync_batch_norm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "layers/ops/batch_norm_ops.h"
#include "layers/ops/pointwise_ops.h"

namespace sombrero::layers {

namespace {

using runtime::DType;

Tensor channel_tensor(const std::vector<double>& values, const Tensor& like) {
  return Tensor::from_floats({static_cast<std::int64_t>(values.size())},
                             std::vector<float>(values.begin(), values.end()), DType::f32,
                             like.device());
}

std::vector<double> as_doubles(const Tensor& t) {
  const std::vector<float> f = t.to_floats();
  return std::vector<double>(f.begin(), f.end());
}

// Rows summed over the ranks (every rank holds the same channel count).
double global_rows(runtime::Communicator& comm, const Tensor& x) {
  std::vector<double> rows{static_cast<double>(x.numel() / x.dim(x.rank() - 1))};
  comm.all_reduce_sum(rows);
  return rows[0];
}

}  // namespace

void sync_batch_norm_forward(runtime::Communicator& comm, const SyncBatchNormArgs& args,
                             const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                             Tensor& running_mean, Tensor& running_var, Tensor& save_mean,
                             Tensor& save_invstd) {
  const auto channels = static_cast<std::size_t>(x.dim(x.rank() - 1));
  const double rows = static_cast<double>(x.numel()) / double(channels);
  // Local statistics from the training kernel (momentum 0 leaves its running copies alone).
  Tensor local_mean = Tensor::empty({std::int64_t(channels)}, DType::f32, x.device());
  Tensor local_invstd = Tensor::empty({std::int64_t(channels)}, DType::f32, x.device());
  Tensor scratch_mean = running_mean.clone(), scratch_var = running_var.clone();
  ops::batch_norm_forward_training(x, gamma, beta, args.eps, 0.0f, y, scratch_mean, scratch_var,
                                   local_mean, local_invstd, /*relu=*/false);
  const std::vector<double> mean_r = as_doubles(local_mean), invstd_r = as_doubles(local_invstd);
  std::vector<double> moments(2 * channels + 1);
  moments[2 * channels] = rows;
  for (std::size_t c = 0; c < channels; ++c) {
    const double var_r = 1.0 / (invstd_r[c] * invstd_r[c]) - double(args.eps);
    moments[c] = rows * mean_r[c];
    moments[channels + c] = rows * (std::max(var_r, 0.0) + mean_r[c] * mean_r[c]);
  }
  comm.all_reduce_sum(moments);
  const double total = moments[2 * channels];
  std::vector<double> mean(channels), var(channels), invstd(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    mean[c] = moments[c] / total;
    var[c] = std::max(moments[channels + c] / total - mean[c] * mean[c], 0.0);
    invstd[c] = 1.0 / std::sqrt(var[c] + double(args.eps));
  }
  save_mean = channel_tensor(mean, x);
  save_invstd = channel_tensor(invstd, x);
  ops::batch_norm_forward_inference(x, gamma, beta, save_mean, channel_tensor(var, x), args.eps, y,
                                    args.relu);
  // Running statistics, as the kernels update them: (1 - m) running + m batch, unbiased var.
  std::vector<double> rm = as_doubles(running_mean), rv = as_doubles(running_var);
  const double m = args.momentum;
  for (std::size_t c = 0; c < channels; ++c) {
    rm[c] = (1.0 - m) * rm[c] + m * mean[c];
    rv[c] = (1.0 - m) * rv[c] + m * (total > 1 ? var[c] * total / (total - 1) : var[c]);
  }
  running_mean.copy_from(channel_tensor(rm, x));
  running_var.copy_from(channel_tensor(rv, x));
}

void sync_batch_norm_backward(runtime::Communicator& comm, const SyncBatchNormArgs& args,
                              const Tensor& x, const Tensor& y, const Tensor& dy,
                              const Tensor& gamma, const Tensor& save_mean,
                              const Tensor& save_invstd, Tensor& dx, Tensor& dgamma,
                              Tensor& dbeta) {
  const auto channels = static_cast<std::size_t>(x.dim(x.rank() - 1));
  Tensor g = dy;
  if (args.relu) {
    g = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
    ops::relu_backward(y, dy, g);
  }
  // The local sums: dbeta_r = sum g, dgamma_r = sum g xhat (xhat from the global statistics).
  Tensor sum_g = Tensor::zeros({std::int64_t(channels)}, DType::f32, x.device());
  Tensor sum_gx = Tensor::zeros({std::int64_t(channels)}, DType::f32, x.device());
  ops::batch_norm_backward_training(x, g, gamma, save_mean, save_invstd, dx, sum_gx, sum_g,
                                    nullptr);
  ops::add_inplace(sum_g, dbeta);
  ops::add_inplace(sum_gx, dgamma);
  std::vector<double> sums(2 * channels);
  const std::vector<double> s_g = as_doubles(sum_g), s_gx = as_doubles(sum_gx);
  std::copy(s_g.begin(), s_g.end(), sums.begin());
  std::copy(s_gx.begin(), s_gx.end(), sums.begin() + std::ptrdiff_t(channels));
  comm.all_reduce_sum(sums);
  const double total = global_rows(comm, x);
  const std::vector<double> gamma_d = as_doubles(gamma), invstd = as_doubles(save_invstd);
  std::vector<double> a(channels), b(channels), d(channels), zero(channels, 0.0),
      unit_var(channels, 1.0 - double(args.eps));
  for (std::size_t c = 0; c < channels; ++c) {
    a[c] = gamma_d[c] * invstd[c];
    b[c] = -a[c] * sums[channels + c] / total;
    d[c] = -a[c] * sums[c] / total;
  }
  // dx = a g + (b xhat + d): the inference kernel computes (v - mean) / sqrt(var + eps) *
  // gamma + beta, so (g; mean 0, var 1 - eps, gamma a, beta 0) gives a g, and (x; the global
  // mean and variance, gamma b, beta d) gives b xhat + d.
  std::vector<double> var(channels);
  for (std::size_t c = 0; c < channels; ++c)
    var[c] = 1.0 / (invstd[c] * invstd[c]) - double(args.eps);
  Tensor scaled_g = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  ops::batch_norm_forward_inference(g, channel_tensor(a, x), channel_tensor(zero, x),
                                    channel_tensor(zero, x), channel_tensor(unit_var, x), args.eps,
                                    scaled_g, false);
  Tensor projection = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  ops::batch_norm_forward_inference(x, channel_tensor(b, x), channel_tensor(d, x), save_mean,
                                    channel_tensor(var, x), args.eps, projection, false);
  ops::add(scaled_g, projection, dx);
}

}  // namespace sombrero::layers
