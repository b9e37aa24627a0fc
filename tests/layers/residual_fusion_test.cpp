// The residual block's tail in one pass (BatchNorm2d::forward_add_relu: y = max(bn(x) + r, 0))
// against the same three steps done apart (BatchNorm2d::forward, Add, ReLU), in training and
// eval: bit for bit in f32 on the cpu backend (composed there) and on simt (the fused CUDA
// kernel, whose f32 roundings are the CPU's: bn's `x * scale + shift`, then `+ r`); bf16 on
// simt within a bf16 rounding of the f32 result (the fused kernel rounds once, the steps
// three times: 2^-8 relative per element at most, 4e-3 norm-wise); through SyncBatchNorm's
// path (unfused there) equal to the per-process one. Also the refusals: a residual of
// another shape, a BatchNorm with its own ReLU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "layers/activation.h"
#include "layers/batch_norm2d.h"
#include "layers/residual.h"
#include "runtime/error.h"
#include "runtime/generator.h"
#include "tests/support/mirror_communicator.h"
#include "tests/support/test_values.h"

namespace sombrero::layers {
namespace {

using runtime::Device;
using runtime::DType;
using runtime::Tensor;

// ||a - b|| / ||b|| (tests/support/test_values.h).
double relative_norm_difference(const Tensor& a, const Tensor& b) {
  return test::relative_error(a.to_floats(), b.to_floats());
}

void prepare(BatchNorm2d& bn, Device device) {
  runtime::Generator g(3);
  bn.weight().value.fill_uniform(g, 0.5f, 1.5f);
  bn.bias().value.fill_uniform(g, -0.5f, 0.5f);
  for (Tensor* t : {&bn.weight().value, &bn.weight().grad, &bn.bias().value, &bn.bias().grad,
                    &bn.running_mean(), &bn.running_var()})
    *t = t->to(device);
}

struct TailRun {
  Tensor y, dx, dgamma, dbeta, running_mean, running_var;
};

// The tail fused, or as three steps; then backward through the ReLU and the BatchNorm.
TailRun run_tail(bool fused, const Context& ctx, const Tensor& x, const Tensor& r,
                 const Tensor& dy) {
  BatchNorm2d bn({int(x.dim(3)), 1e-5f, 0.1f, false});
  prepare(bn, x.device());
  ReLU relu;
  TailRun run;
  if (fused) {
    run.y = bn.forward_add_relu(ctx, x, r);
    relu.adopt_output(ctx, run.y);
  } else {
    run.y = relu.forward(ctx, Add::forward(bn.forward(ctx, x), r));
  }
  if (ctx.training) run.dx = bn.backward(ctx, relu.backward(ctx, dy));
  run.dgamma = bn.weight().grad;
  run.dbeta = bn.bias().grad;
  run.running_mean = bn.running_mean();
  run.running_var = bn.running_var();
  return run;
}

struct Inputs {
  Tensor x, r, dy;
};

Inputs inputs(Device device, DType dtype, int channels) {
  runtime::Generator g(17);
  Inputs in{Tensor::empty({2, 3, 5, channels}), Tensor::empty({2, 3, 5, channels}),
            Tensor::empty({2, 3, 5, channels})};
  in.x.fill_normal(g, 0.3f, 2.0f);
  in.r.fill_normal(g, -0.2f, 1.0f);  // about half of the sums negative: the ReLU matters
  in.dy.fill_normal(g);
  return {in.x.to_dtype(dtype).to(device), in.r.to_dtype(dtype).to(device),
          in.dy.to_dtype(dtype).to(device)};
}

void expect_equal(const Tensor& a, const Tensor& b, const std::string& what) {
  EXPECT_EQ(a.to_floats(), b.to_floats()) << what;
}

class ResidualTail : public ::testing::TestWithParam<std::tuple<bool, bool, int>> {};

// f32: fused == three steps, bit for bit (cpu: composed; simt: the fused kernel), for a
// vectorizable channel count (16) and one that is not (5).
TEST_P(ResidualTail, FusedEqualsTheThreeStepsInF32) {
  const auto [simt, training, channels] = GetParam();
  const Device device = simt ? Device::simt() : Device::cpu();
  const Inputs in = inputs(device, DType::f32, channels);
  Context ctx;
  ctx.device = device;
  ctx.training = training;
  const TailRun fused = run_tail(true, ctx, in.x, in.r, in.dy);
  const TailRun steps = run_tail(false, ctx, in.x, in.r, in.dy);
  expect_equal(fused.y, steps.y, "y");
  if (training) {
    expect_equal(fused.dx, steps.dx, "dx");
    expect_equal(fused.dgamma, steps.dgamma, "dgamma");
    expect_equal(fused.dbeta, steps.dbeta, "dbeta");
    expect_equal(fused.running_mean, steps.running_mean, "running_mean");
    expect_equal(fused.running_var, steps.running_var, "running_var");
  }
  float negative = 0;
  for (const float v : steps.y.to_floats()) negative += v == 0.0f ? 1.0f : 0.0f;
  EXPECT_GT(negative, 0) << "no output was clamped: the test would not see a missing ReLU";
}

INSTANTIATE_TEST_SUITE_P(DevicesModesChannels, ResidualTail,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values(16, 5)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "Simt" : "Cpu") +
                                  (std::get<1>(info.param) ? "Training" : "Eval") + "C" +
                                  std::to_string(std::get<2>(info.param));
                         });

TEST(ResidualTailBf16, FusedOnSimtIsWithinABf16RoundingOfF32) {
  const Inputs f32 = inputs(Device::simt(), DType::f32, 16);
  const Inputs b16{f32.x.to_dtype(DType::bf16), f32.r.to_dtype(DType::bf16),
                   f32.dy.to_dtype(DType::bf16)};
  // The f32 reference sees the bf16-rounded inputs.
  const Inputs ref{b16.x.to_dtype(DType::f32), b16.r.to_dtype(DType::f32),
                   b16.dy.to_dtype(DType::f32)};
  Context ctx;
  ctx.device = Device::simt();
  const TailRun want = run_tail(false, ctx, ref.x, ref.r, ref.dy);
  const TailRun got = run_tail(true, ctx, b16.x, b16.r, b16.dy);
  EXPECT_LT(relative_norm_difference(got.y, want.y), 4e-3);
  EXPECT_LT(relative_norm_difference(got.dx, want.dx), 1e-2);
}

TEST(ResidualTailSync, TheSyncBatchNormPathEqualsThePerProcessOne) {
  for (const bool simt : {false, true}) {
    const Device device = simt ? Device::simt() : Device::cpu();
    const Inputs in = inputs(device, DType::f32, 16);
    Context local;
    local.device = device;
    test::MirrorCommunicator comm;
    Context ranked = local;
    ranked.batch_norm_sync = &comm;
    const TailRun plain = run_tail(true, local, in.x, in.r, in.dy);
    const TailRun synced = run_tail(true, ranked, in.x, in.r, in.dy);
    EXPECT_GT(comm.host_reductions, 0) << "the sync path did not run";
    // As in sync_batch_norm_test.cpp: statistics recombined in double, a few ulps.
    EXPECT_LT(relative_norm_difference(plain.y, synced.y), 1e-6) << simt;
    EXPECT_LT(relative_norm_difference(plain.dx, synced.dx), 1e-5) << simt;
  }
}

TEST(ResidualTailChecks, MismatchedResidualsAndABatchNormWithItsOwnReluAreRefused) {
  Context ctx;
  BatchNorm2d bn({4, 1e-5f, 0.1f, false});
  const Tensor x = Tensor::zeros({2, 3, 3, 4});
  EXPECT_THROW(bn.forward_add_relu(ctx, x, Tensor::zeros({2, 3, 3, 5})), Error);
  BatchNorm2d with_relu({4, 1e-5f, 0.1f, true});
  EXPECT_THROW(with_relu.forward_add_relu(ctx, x, Tensor::zeros({2, 3, 3, 4})), Error);
}

}  // namespace
}  // namespace sombrero::layers
