// Training a small ResNet on the CPU (issue 6's "done when"):
// - one SGD step (momentum, Nesterov, weight decay, the combined CE + U(1) loss through the
//   bottleneck tap) gives the parameters of an independently computed step: gradients by
//   central finite differences of a double-precision reference network (reference_net.h, the
//   U(1) reference of tests/kernels/u1_reference.h), the update written out as torch.optim.SGD;
// - 50 steps on one fixed batch drive the loss near zero (the model can overfit).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>

#include "kernels/u1loss/class_angles.h"
#include "layers/linear.h"
#include "layers/pooling.h"
#include "layers/residual.h"
#include "layers/sgd.h"
#include "layers/zoo.h"
#include "losses/combined_loss.h"
#include "tests/kernels/u1_reference.h"
#include "tests/layers/gradient_check.h"

namespace sombrero::layers {
namespace {

constexpr int kClasses = 3;

// The network here is tiny: threads gain nothing, and OpenMP's spinning barriers on a shared
// 2-core machine can make each parallel region cost milliseconds. One thread keeps the test
// fast and its result independent of the machine's load.
class TrainStep : public ::testing::Test {
 protected:
  void SetUp() override { omp_set_num_threads(1); }
};

// conv1 (3->4) bn1 relu | layer1: BasicBlock(4) | layer2: BasicBlock(4->8, stride 2, 1x1
// downsample) | avgpool | fc (8->3). The tap is layer2's output.
std::unique_ptr<Model> small_resnet() {
  auto trunk = std::make_unique<Sequential>();
  trunk->add(std::make_unique<Conv2d>(Conv2dOptions{3, 4, 3, 1, 1, false}), "conv1");
  trunk->add(std::make_unique<BatchNorm2d>(BatchNorm2dOptions{4}), "bn1");
  trunk->add(std::make_unique<ReLU>(), "relu");
  auto layer1 = std::make_unique<Sequential>();
  layer1->add(std::make_unique<BasicBlock>(BlockOptions{4, 4, 1, ShortcutKind::B}));
  trunk->add(std::move(layer1), "layer1");
  auto layer2 = std::make_unique<Sequential>();
  layer2->add(std::make_unique<BasicBlock>(BlockOptions{4, 8, 2, ShortcutKind::B}));
  trunk->add(std::move(layer2), "layer2");
  trunk->add(std::make_unique<GlobalAvgPool>(), "avgpool");
  trunk->add(std::make_unique<Linear>(LinearOptions{8, kClasses, true}), "fc");
  auto model = std::make_unique<Model>("small_resnet", std::move(trunk), Shape{6, 6, 3});
  initialize(model->trunk(), 5);
  return model;
}

struct Batch {
  Tensor images;
  std::vector<std::int32_t> labels;
};

Batch fixed_batch(int n) {
  Batch b{Tensor::empty({n, 6, 6, 3}), {}};
  runtime::Generator gen(11);
  b.images.fill_normal(gen);
  for (int i = 0; i < n; ++i) b.labels.push_back(i % kClasses);
  return b;
}

// The batch-mean loss CE + lambda U(1) of the reference network, in double.
double reference_loss(const test::DTensor& x, const test::Params& p,
                      const std::vector<std::int32_t>& labels,
                      const losses::CombinedLossOptions& o) {
  using namespace test;
  DTensor y = ref_relu(ref_bn_train(ref_conv(x, p.at("conv1.weight"), 4, 3, 1, 1),
                                    p.at("bn1.weight"), p.at("bn1.bias")));
  y = ref_basic_block(y, p, "layer1.0.", 4, 1, 'I');
  const DTensor tap = ref_basic_block(y, p, "layer2.0.", 8, 2, 'B');
  const DTensor logits =
      ref_linear(ref_global_avg_pool(tap), p.at("fc.weight"), &p.at("fc.bias"), kClasses);
  U1Problem problem{int(x.dim(0)),
                    kClasses,
                    int(tap.dim(1)),
                    int(tap.dim(2)),
                    int(tap.dim(3)),
                    o.u1.weight,
                    o.u1.eps,
                    0.0,
                    2,
                    logits.v,
                    {},
                    tap.v,
                    {}};
  problem.labels.assign(labels.begin(), labels.end());
  problem.angles.assign(o.class_angles.begin(), o.class_angles.end());
  return test::reference_loss(problem).loss;
}

losses::CombinedLossOptions loss_options(float u1_weight) {
  losses::CombinedLossOptions o;
  o.u1.weight = u1_weight;
  o.class_angles = kernels::class_angle_table(kernels::ClassAngles::uniform, kClasses, 0);
  return o;
}

// readout = false with weight 0 is the plain one-hot loss: the bottleneck is never read (a
// NaN bottleneck changes nothing), z and the readout are not returned, and the cross-entropy
// and dlogits are those of the run with the readout. On the CPU backend and through the
// SIMT execution of the CUDA kernel.
TEST(CombinedLossReadout, OffWithWeightZeroNeverReadsTheBottleneck) {
  const std::vector<float> logits = {0.5f, -1.0f, 2.0f, 0.0f, 1.5f, -0.5f};
  const std::vector<std::int32_t> labels = {2, 0};
  for (const runtime::Device device : {runtime::Device::cpu(), runtime::Device::simt()}) {
    SCOPED_TRACE(runtime::to_string(device));
    const Tensor logit_tensor =
        Tensor::from_floats({2, kClasses}, logits, runtime::DType::f32, device);
    const Tensor nan_bottleneck = Tensor::full({2, 2, 2, 4}, NAN, runtime::DType::f32, device);
    losses::CombinedLossOptions options = loss_options(0.0f);
    const losses::LossOutput with_readout =
        losses::CombinedLoss(options).compute(logit_tensor, labels, nan_bottleneck, nullptr);
    options.readout = false;
    const losses::LossOutput plain =
        losses::CombinedLoss(options).compute(logit_tensor, labels, nan_bottleneck, nullptr);
    ASSERT_EQ(with_readout.z.size(), 4u);
    EXPECT_TRUE(std::isnan(with_readout.z[0]));  // the readout did read the bottleneck
    EXPECT_TRUE(plain.z.empty());
    EXPECT_TRUE(plain.angle_prediction.empty());
    EXPECT_EQ(plain.mean.ce, with_readout.mean.ce);
    EXPECT_TRUE(std::isfinite(plain.mean.loss));
    EXPECT_EQ(plain.dlogits.to_floats(), with_readout.dlogits.to_floats());
    // A U(1) weight > 0 needs the moments: the readout comes back whatever `readout` says.
    options.u1.weight = 0.5f;
    Tensor gradient = Tensor::zeros({2, 2, 2, 4}, runtime::DType::f32, device);
    const Tensor ones = Tensor::full({2, 2, 2, 4}, 1.0f, runtime::DType::f32, device);
    EXPECT_EQ(losses::CombinedLoss(options).compute(logit_tensor, labels, ones, &gradient).z.size(),
              4u);
  }
}

TEST_F(TrainStep, OneSgdStepEqualsAnIndependentDoubleReference) {
  auto model = small_resnet();
  const Batch batch = fixed_batch(4);
  // u1.weight large enough that the tap's gradient matters in every parameter upstream.
  const losses::CombinedLossOptions options = loss_options(0.5f);
  const SgdOptions sgd_options{0.9f, true, 0.05f, true, 0.0f};
  const float lr = 0.1f;

  // Reference: parameters before the step, gradients by central differences in double.
  test::Params params;
  std::vector<NamedParameter> parameters = model->parameters();
  for (const NamedParameter& p : parameters) params[p.name] = test::to_doubles(p.parameter->value);
  const test::DTensor x = test::to_dtensor(batch.images);
  constexpr double h = 1e-6;
  std::map<std::string, std::vector<double>> expected;
  for (const NamedParameter& p : parameters) {
    std::vector<double>& out = expected[p.name];
    const std::vector<double>& value = params[p.name];
    for (std::size_t i = 0; i < value.size(); ++i) {
      test::Params plus = params, minus = params;
      plus[p.name][i] += h;
      minus[p.name][i] -= h;
      const double grad = (reference_loss(x, plus, batch.labels, options) -
                           reference_loss(x, minus, batch.labels, options)) /
                          (2 * h);
      // torch.optim.SGD, first step: buf = g; Nesterov: d = g + momentum buf.
      const double decay = p.parameter->decays(true) ? sgd_options.weight_decay : 0.0;
      const double g = grad + decay * value[i];
      out.push_back(value[i] - lr * (g + sgd_options.momentum * g));
    }
  }

  // sombrero: forward, fused loss into the tap, backward, SGD.
  Context ctx;
  model->zero_grad();
  const Tensor logits = model->forward(ctx, batch.images);
  const losses::CombinedLoss loss(options);
  const losses::LossOutput out =
      loss.compute(logits, batch.labels, model->bottleneck(), &model->bottleneck_grad());
  EXPECT_NEAR(out.mean.loss, reference_loss(x, params, batch.labels, options), 1e-5);
  model->backward(ctx, out.dlogits);
  Sgd sgd(parameters, sgd_options);
  sgd.step(lr);

  // The update moves parameters by ~lr |g|; f32 gradients agree with the double ones to
  // ~1e-5 relative (gradient_check.h), so 2e-5 absolute on values of order 1 has margin.
  for (const NamedParameter& p : parameters) {
    const std::vector<float> actual = p.parameter->value.to_floats();
    const std::vector<double>& want = expected[p.name];
    double moved = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
      ASSERT_NEAR(actual[i], want[i], 2e-5) << p.name << "[" << i << "]";
      moved = std::max(moved, std::abs(want[i] - params[p.name][i]));
    }
    EXPECT_GT(moved, 1e-4) << p.name << " did not move: the check would be vacuous";
  }
}

TEST_F(TrainStep, FiftyStepsOnAFixedBatchOverfit) {
  auto model = small_resnet();
  const Batch batch = fixed_batch(12);
  const losses::CombinedLoss loss(loss_options(0.1f));
  Sgd sgd(model->parameters(), {0.9f, false, 0.0f, false, 0.0f});
  Context ctx;
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    model->zero_grad();
    const Tensor logits = model->forward(ctx, batch.images);
    const losses::LossOutput out =
        loss.compute(logits, batch.labels, model->bottleneck(), &model->bottleneck_grad());
    model->backward(ctx, out.dlogits);
    sgd.step(0.05f);
    if (step == 0) first = out.mean.ce;
    last = out.mean.ce;
  }
  EXPECT_GT(first, 0.8);  // ~ln 3 at initialisation
  EXPECT_LT(last, 0.05) << "cross-entropy after 50 steps (from " << first << ")";
}

TEST_F(TrainStep, TapGradientReachesTheParametersBelowIt) {
  // Backward with zero dlogits and a bottleneck gradient G equals backward of the trunk below
  // the tap with G: here checked by linearity, G then 2G doubles every gradient below the tap
  // and leaves fc's untouched.
  auto model = small_resnet();
  const Batch batch = fixed_batch(4);
  Context ctx;
  auto grads_for = [&](float scale) {
    model->zero_grad();
    const Tensor logits = model->forward(ctx, batch.images);
    model->bottleneck_grad().fill(scale);
    model->backward(ctx, Tensor::zeros(logits.shape()));
    std::map<std::string, std::vector<float>> g;
    for (const NamedParameter& p : model->parameters()) g[p.name] = p.parameter->grad.to_floats();
    return g;
  };
  auto one = grads_for(1.0f), two = grads_for(2.0f);
  EXPECT_EQ(one["fc.weight"], std::vector<float>(one["fc.weight"].size(), 0.0f));
  const std::vector<float>& a = one["conv1.weight"];
  const std::vector<float>& b = two["conv1.weight"];
  double norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(b[i], 2 * a[i], 1e-5 * (1 + std::abs(b[i])));
    norm += double(a[i]) * a[i];
  }
  EXPECT_GT(norm, 1e-8);
}

}  // namespace
}  // namespace sombrero::layers
