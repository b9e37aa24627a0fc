// SyncBatchNorm's composition (layers/sync_batch_norm.h) against the fused per-process
// BatchNorm: with a communicator whose other rank holds the same batch, the global
// statistics are the local ones, M doubles and so do the gradient sums, so y, the running
// statistics, dx, dgamma and dbeta must equal plain BatchNorm2d's, on the cpu and on simt
// (the CUDA kernels), with and without the fused ReLU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "layers/batch_norm2d.h"
#include "runtime/generator.h"
#include "tests/support/mirror_communicator.h"

namespace sombrero::layers {
namespace {

using runtime::Device;
using runtime::Tensor;

using test::MirrorCommunicator;

double relative_norm_difference(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_floats(), y = b.to_floats();
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    diff += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    norm += double(x[i]) * x[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

void move_to(BatchNorm2d& bn, Device device) {
  bn.weight().value = bn.weight().value.to(device);
  bn.weight().grad = bn.weight().grad.to(device);
  bn.bias().value = bn.bias().value.to(device);
  bn.bias().grad = bn.bias().grad.to(device);
  bn.running_mean() = bn.running_mean().to(device);
  bn.running_var() = bn.running_var().to(device);
}

class SyncBatchNorm : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(SyncBatchNorm, MirroredRanksEqualThePerProcessLayer) {
  const auto [relu, simt] = GetParam();
  const Device device = simt ? Device::simt() : Device::cpu();
  const int channels = 5;
  BatchNorm2dOptions options{channels, 1e-5f, 0.1f, relu};
  BatchNorm2d plain(options), synced(options);
  runtime::Generator generator(11);
  for (BatchNorm2d* bn : {&plain, &synced}) {
    runtime::Generator g(3);
    bn->weight().value.fill_uniform(g, 0.5f, 1.5f);
    bn->bias().value.fill_uniform(g, -0.5f, 0.5f);
    move_to(*bn, device);
  }
  Tensor x = Tensor::empty({2, 3, 4, channels});
  x.fill_normal(generator, 0.7f, 2.0f);
  Tensor dy = Tensor::empty({2, 3, 4, channels});
  dy.fill_normal(generator);
  x = x.to(device);
  dy = dy.to(device);

  Context local;
  local.device = device;
  MirrorCommunicator comm;
  Context ranked = local;
  ranked.batch_norm_sync = &comm;
  const Tensor y_plain = plain.forward(local, x), y_synced = synced.forward(ranked, x);
  const Tensor dx_plain = plain.backward(local, dy), dx_synced = synced.backward(ranked, dy);
  EXPECT_GT(comm.host_reductions, 0) << "the sync path did not run";

  // f32 throughout; the sync path recombines the statistics in double and evaluates dx in
  // two affine passes and an add: a few ulps per element, 1e-5 norm-wise.
  EXPECT_LT(relative_norm_difference(y_plain, y_synced), 1e-6);
  EXPECT_LT(relative_norm_difference(dx_plain, dx_synced), 1e-5);
  EXPECT_LT(relative_norm_difference(plain.weight().grad, synced.weight().grad), 1e-5);
  EXPECT_LT(relative_norm_difference(plain.bias().grad, synced.bias().grad), 1e-6);
  EXPECT_LT(relative_norm_difference(plain.running_mean(), synced.running_mean()), 1e-6);
  // The unbiased running variance uses M = 2 x 24 rows on the mirrored ranks, 24 locally.
  std::vector<float> rv_plain = plain.running_var().to_floats();
  const std::vector<float> rv_synced = synced.running_var().to_floats();
  for (std::size_t c = 0; c < rv_plain.size(); ++c) {
    const double batch_var_plain = (rv_plain[c] - 0.9) / 0.1 * 23.0 / 24.0;  // biased
    const double expected = 0.9 + 0.1 * batch_var_plain * 48.0 / 47.0;
    EXPECT_NEAR(rv_synced[c], expected, 1e-5 * expected) << "channel " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(ReluAndDevice, SyncBatchNorm,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "Relu" : "NoRelu") +
                                  (std::get<1>(info.param) ? "Simt" : "Cpu");
                         });

}  // namespace
}  // namespace sombrero::layers
