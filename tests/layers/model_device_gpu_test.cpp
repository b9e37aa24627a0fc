// The checks of model_device_test.cpp on cuda:0 (model_device_checks.h): the optimizer, the
// combined loss, Model::to and weight I/O against the cpu path. Skips without a device.
#include "runtime/device_info.h"
#include "tests/layers/model_device_checks.h"

namespace sombrero::layers::device_checks {
namespace {

constexpr Device kCuda = Device::cuda(0);

#define SKIP_WITHOUT_CUDA()                                                     \
  do {                                                                          \
    if (runtime::cuda_devices().empty()) {                                      \
      GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason(); \
    }                                                                           \
  } while (0)

// The GPU fuses multiply-adds: 1e-6 norm-wise, not bit for bit (model_device_checks.h).
TEST(SgdGpu, ThreeStepsMatchTheCpuOptimizer) {
  SKIP_WITHOUT_CUDA();
  check_sgd_matches_cpu(kCuda, {.sgd_bitwise = false, .sgd = 1e-6});
}

TEST(SgdGpu, NonFiniteGradientIsNamed) {
  SKIP_WITHOUT_CUDA();
  check_sgd_nonfinite_gradient_is_named(kCuda);
}

class CombinedLossGpu : public testing::TestWithParam<kernels::U1Space> {};

TEST_P(CombinedLossGpu, F32BottleneckMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  check_loss_matches_cpu(kCuda, GetParam(), DType::f32, 1e-5);
}

TEST_P(CombinedLossGpu, Bf16BottleneckMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  check_loss_matches_cpu(kCuda, GetParam(), DType::bf16, 1e-2);
}

INSTANTIATE_TEST_SUITE_P(Spaces, CombinedLossGpu,
                         testing::Values(kernels::U1Space::image, kernels::U1Space::feature,
                                         kernels::U1Space::joint),
                         [](const auto& info) {
                           return std::string(kernels::to_string(info.param));
                         });

TEST(ModelGpu, ToAndBackRoundTripsAllState) {
  SKIP_WITHOUT_CUDA();
  check_model_to_round_trips(kCuda);
}

TEST(ModelGpu, WeightsCrossBetweenCudaAndCpu) {
  SKIP_WITHOUT_CUDA();
  check_weights_cross_devices(kCuda, "model_device_gpu");
}

TEST(ModelGpu, TrainStepMatchesCpuInF32) {
  SKIP_WITHOUT_CUDA();
  check_train_step_matches_cpu(kCuda, DType::f32, 1e-5);
}

TEST(ModelGpu, TrainStepMatchesCpuInBf16) {
  SKIP_WITHOUT_CUDA();
  check_train_step_matches_cpu(kCuda, DType::bf16, 5e-2);
}

}  // namespace
}  // namespace sombrero::layers::device_checks
