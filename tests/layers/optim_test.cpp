// SGD against torch.optim.SGD's update written out by hand, gradient clipping as
// clip_grad_norm_, the finiteness check, and the LR schedules' values at known steps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numbers>

#include "layers/lr_schedule.h"
#include "layers/sgd.h"
#include "runtime/config/run_config_schema.h"
#include "runtime/error.h"

namespace sombrero::layers {
namespace {

Parameter make_parameter(const std::vector<float>& value, ParameterRole role) {
  Parameter p;
  p.value = Tensor::from_floats({std::int64_t(value.size())}, value);
  p.grad = Tensor::zeros({std::int64_t(value.size())});
  p.role = role;
  return p;
}

TEST(Sgd, MomentumNesterovAndWeightDecayAsTorch) {
  Parameter w = make_parameter({1.0f, -2.0f}, ParameterRole::weight);
  Parameter b = make_parameter({0.5f, 0.25f}, ParameterRole::bias);
  Sgd sgd({{"w", &w}, {"b", &b}}, {0.9f, true, 0.1f, true, 0.0f});
  // torch: g = grad + wd p; buf = g (first step) then 0.9 buf + g; p -= lr (g + 0.9 buf).
  double pw[2] = {1.0, -2.0}, pb[2] = {0.5, 0.25}, bw[2] = {0, 0}, bb[2] = {0, 0};
  const float grads[2][2] = {{0.5f, -1.0f}, {0.25f, 2.0f}};
  const float lrs[2] = {0.1f, 0.05f};
  for (int step = 0; step < 2; ++step) {
    w.grad.copy_from(Tensor::from_floats({2}, {grads[step][0], grads[step][1]}));
    b.grad.copy_from(Tensor::from_floats({2}, {grads[step][1], grads[step][0]}));
    sgd.step(lrs[step]);
    for (int i = 0; i < 2; ++i) {
      const double gw = grads[step][i] + 0.1 * pw[i];  // decayed
      const double gb = grads[step][1 - i];            // bias: excluded from decay
      bw[i] = 0.9 * bw[i] + gw;
      bb[i] = 0.9 * bb[i] + gb;
      pw[i] -= lrs[step] * (gw + 0.9 * bw[i]);
      pb[i] -= lrs[step] * (gb + 0.9 * bb[i]);
    }
    for (int i = 0; i < 2; ++i) {
      EXPECT_NEAR(w.value.to_floats()[std::size_t(i)], pw[i], 1e-6) << step;
      EXPECT_NEAR(b.value.to_floats()[std::size_t(i)], pb[i], 1e-6) << step;
    }
  }
  EXPECT_EQ(sgd.steps_taken(), 2);
  const auto buffers = sgd.momentum_buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].first, "w");
  EXPECT_NEAR(buffers[0].second->to_floats()[0], bw[0], 1e-6);
}

TEST(Sgd, PlainMomentumAndNoMomentum) {
  Parameter w = make_parameter({1.0f}, ParameterRole::weight);
  Sgd heavy_ball({{"w", &w}}, {0.5f, false, 0.0f, false, 0.0f});
  w.grad.fill(1.0f);
  heavy_ball.step(0.1f);  // buf 1, p = 1 - 0.1
  heavy_ball.step(0.1f);  // buf 1.5, p = 0.9 - 0.15
  EXPECT_NEAR(w.value.to_floats()[0], 0.75, 1e-7);
  Parameter v = make_parameter({1.0f}, ParameterRole::weight);
  Sgd plain({{"v", &v}}, {0.0f, false, 0.0f, false, 0.0f});
  v.grad.fill(2.0f);
  plain.step(0.25f);
  EXPECT_NEAR(v.value.to_floats()[0], 0.5, 1e-7);
  EXPECT_TRUE(plain.momentum_buffers().empty());
}

TEST(Sgd, ClipsTheGlobalNormAsClipGradNorm) {
  Parameter a = make_parameter({0.0f}, ParameterRole::weight);
  Parameter b = make_parameter({0.0f}, ParameterRole::weight);
  a.grad.fill(3.0f);
  b.grad.fill(4.0f);  // global norm 5
  Sgd sgd({{"a", &a}, {"b", &b}}, {0.0f, false, 0.0f, false, 1.0f});
  const SgdStepStats stats = sgd.step(1.0f);
  EXPECT_NEAR(stats.grad_norm, 5.0, 1e-6);
  EXPECT_TRUE(stats.clipped);
  EXPECT_NEAR(a.value.to_floats()[0], -3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(b.value.to_floats()[0], -4.0 / (5.0 + 1e-6), 1e-6);
  // Below the threshold nothing is scaled.
  a.grad.fill(0.3f);
  b.grad.fill(0.4f);
  EXPECT_FALSE(sgd.step(1.0f).clipped);
}

TEST(Sgd, NonFiniteGradientStopsWithItsNameAndChangesNothing) {
  Parameter a = make_parameter({1.0f, 2.0f}, ParameterRole::weight);
  Parameter b = make_parameter({1.0f, 2.0f}, ParameterRole::weight);
  b.grad.copy_from(Tensor::from_floats({2}, {0.0f, std::nanf("")}));
  Sgd sgd({{"layer1.0.conv1.weight", &a}, {"fc.bias", &b}}, {0.9f, false, 0.0f, false, 0.0f});
  try {
    sgd.step(0.1f);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 0: non-finite gradient in 'fc.bias"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(a.value.to_floats(), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(first_nonfinite({{"a", &a}, {"b", &b}}, false), "");
}

TEST(LrSchedule, WarmupThenCosine) {
  LrScheduleOptions o;
  o.kind = LrScheduleKind::cosine;
  o.lr = 0.1;
  o.warmup_steps = 10;
  o.total_steps = 110;
  const LrSchedule s(o);
  EXPECT_NEAR(s.lr_at(0), 0.01, 1e-12);
  EXPECT_NEAR(s.lr_at(4), 0.05, 1e-12);
  EXPECT_NEAR(s.lr_at(9), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(10), 0.1, 1e-12);
  EXPECT_NEAR(s.lr_at(35), 0.05 * (1 + std::cos(std::numbers::pi / 4)), 1e-12);
  EXPECT_NEAR(s.lr_at(60), 0.05, 1e-12);
  EXPECT_NEAR(s.lr_at(110), 0.0, 1e-12);
  EXPECT_NEAR(s.lr_at(500), 0.0, 1e-12);
  o.min_lr = 0.001;
  EXPECT_NEAR(LrSchedule(o).lr_at(110), 0.001, 1e-12);
}

TEST(LrSchedule, StepMultistepConstant) {
  LrScheduleOptions o;
  o.lr = 0.1;
  o.kind = LrScheduleKind::step;
  o.step_size = 30;
  EXPECT_NEAR(LrSchedule(o).lr_at(29), 0.1, 1e-12);
  EXPECT_NEAR(LrSchedule(o).lr_at(30), 0.01, 1e-12);
  EXPECT_NEAR(LrSchedule(o).lr_at(65), 0.001, 1e-12);
  o.kind = LrScheduleKind::multistep;
  o.milestones = {30, 80};
  EXPECT_NEAR(LrSchedule(o).lr_at(29), 0.1, 1e-12);
  EXPECT_NEAR(LrSchedule(o).lr_at(30), 0.01, 1e-12);
  EXPECT_NEAR(LrSchedule(o).lr_at(79), 0.01, 1e-12);
  EXPECT_NEAR(LrSchedule(o).lr_at(80), 0.001, 1e-12);
  o.kind = LrScheduleKind::constant;
  o.warmup_steps = 4;
  EXPECT_NEAR(LrSchedule(o).lr_at(1), 0.05, 1e-12);
  EXPECT_NEAR(LrSchedule(o).lr_at(1000), 0.1, 1e-12);
}

TEST(LrSchedule, FromConfigConvertsEpochsAndScalesByBatch) {
  const runtime::Config config = runtime::parse_config(
      "model: {name: resnet20}\ndata: {dataset: cifar10, batch_size: 256}\n"
      "optim: {lr: 0.1, lr_reference_batch: 128}\n"
      "schedule: {kind: multistep, warmup_epochs: 0.5, milestones: [3, 1]}\n"
      "train: {epochs: 5}\n",
      "test.yaml", {}, runtime::run_config_schema());
  const LrScheduleOptions o = lr_schedule_options_from_config(config, 100);
  EXPECT_NEAR(o.lr, 0.2, 1e-12);
  EXPECT_EQ(o.warmup_steps, 50);
  EXPECT_EQ(o.total_steps, 500);
  EXPECT_EQ(o.milestones, (std::vector<std::int64_t>{100, 300}));
  EXPECT_EQ(o.kind, LrScheduleKind::multistep);
  const SgdOptions sgd = sgd_options_from_config(config);
  EXPECT_FLOAT_EQ(sgd.momentum, 0.9f);
  EXPECT_FLOAT_EQ(sgd.weight_decay, 1e-4f);
}

}  // namespace
}  // namespace sombrero::layers
