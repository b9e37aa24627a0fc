// The optimizer, the combined loss, Model::to and weight I/O on the simt device (the CUDA
// kernel sources executed on the CPU) against the cpu path: the GPU code path of everything
// around the layers, tested without a GPU. The checks: model_device_checks.h.
#include "layers/conv2d.h"
#include "tests/layers/model_device_checks.h"

namespace sombrero::layers::device_checks {
namespace {

constexpr Device kSimt = Device::simt();

// Without clipping, bit for bit: the simt kernel is the host compiler's code for the same float
// expression as the cpu backend (no FMA contraction on baseline x86-64).
TEST(SgdSimt, ThreeStepsMatchTheCpuOptimizer) {
  check_sgd_matches_cpu(kSimt, {.sgd_bitwise = true, .sgd = 1e-6});
}

TEST(SgdSimt, NonFiniteGradientIsNamed) {
  check_sgd_nonfinite_gradient_is_named(kSimt);
}

TEST(SgdSimt, ParametersMovedAfterConstructionAreRefused) {
  ParameterSet set(Device::cpu());
  Sgd sgd(set.named(), {0.9f, false, 0.0f, false, 0.0f});
  for (Parameter& p : set.parameters) {
    p.value = p.value.to(kSimt);
    p.grad = p.grad.to(kSimt);
  }
  try {
    sgd.step(0.1f);
    ADD_FAILURE() << "moved parameters were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("construct Sgd after Model::to"), std::string::npos)
        << e.what();
  }
}

class CombinedLossSimt : public testing::TestWithParam<kernels::U1Space> {};

// f32: the kernel accumulates in f32 in its own order, the cpu in double: 1e-5 relative.
TEST_P(CombinedLossSimt, F32BottleneckMatchesCpu) {
  check_loss_matches_cpu(kSimt, GetParam(), DType::f32, 1e-5);
}

// bf16: the added gradient is rounded to bf16 (8 bits of mantissa, 2^-9 relative) once more.
TEST_P(CombinedLossSimt, Bf16BottleneckMatchesCpu) {
  check_loss_matches_cpu(kSimt, GetParam(), DType::bf16, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(Spaces, CombinedLossSimt,
                         testing::Values(kernels::U1Space::image, kernels::U1Space::feature,
                                         kernels::U1Space::joint),
                         [](const auto& info) {
                           return std::string(kernels::to_string(info.param));
                         });

TEST(CombinedLossCpu, Bf16BottleneckIsRefusedOnTheCpu) {
  const losses::CombinedLoss loss(loss_options(kernels::U1Space::joint));
  const LossInputs in = loss_inputs();
  Tensor d = in.dbottleneck.to_dtype(DType::bf16);
  EXPECT_THROW(loss.compute(in.logits, in.labels, in.bottleneck.to_dtype(DType::bf16), &d), Error);
}

TEST(ModelSimt, ToAndBackRoundTripsAllState) {
  check_model_to_round_trips(kSimt);
}

TEST(ModelSimt, WeightsCrossBetweenSimtAndCpu) {
  check_weights_cross_devices(kSimt, "model_device_simt");
}

// f32: the kernels sum in their own orders (1.4e-7 seen); bf16: activations rounded to 8 bits
// of mantissa at every layer (1.9e-2 seen on the gradients).
TEST(ModelSimt, TrainStepMatchesCpuInF32) {
  check_train_step_matches_cpu(kSimt, DType::f32, 1e-5);
}

TEST(ModelSimt, TrainStepMatchesCpuInBf16) {
  check_train_step_matches_cpu(kSimt, DType::bf16, 5e-2);
}

// bf16 forwards take the weights Model::forward converted together (compute_weights.h):
// they must be the current master weights at every forward, the same bits as each layer
// converting its own. Here the masters change between two forwards (as an optimizer step
// changes them) and the second forward must equal, bit for bit, a fresh model's that never
// saw the old values, and differ from the first.
TEST(ModelSimt, Bf16ForwardReadsTheCurrentMasterWeights) {
  auto model = tiny_model(1), fresh = tiny_model(2);
  model->to(kSimt);
  fresh->to(kSimt);
  Context ctx;
  ctx.device = kSimt;
  ctx.precision = Precision::bf16;
  Generator gen(9);
  Tensor images = Tensor::empty({2, 6, 6, 2});
  images.fill_normal(gen);
  images = images.to_dtype(DType::bf16).to(kSimt);
  const std::vector<float> first = model->forward(ctx, images).to_floats();
  const std::vector<NamedParameter> changed = model->parameters(), copy = fresh->parameters();
  for (std::size_t i = 0; i < changed.size(); ++i) {
    changed[i].parameter->value.scale(-0.5f);
    copy[i].parameter->value.copy_from(changed[i].parameter->value);
  }
  const std::vector<float> second = model->forward(ctx, images).to_floats();
  EXPECT_EQ(second, fresh->forward(ctx, images).to_floats());
  EXPECT_NE(second, first);
  // A layer run on its own, outside Model::forward, converts its weight itself.
  Conv2d conv(Conv2dOptions{2, 4, 3, 1, 1, false});
  conv.weight().value = conv.weight().value.to(kSimt);
  const Tensor y = conv.forward(ctx, images);
  EXPECT_EQ(y.dtype(), DType::bf16);
  EXPECT_EQ(y.shape(), (Shape{2, 6, 6, 4}));
}

}  // namespace
}  // namespace sombrero::layers::device_checks
