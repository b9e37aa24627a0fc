// Every layer type on the simt device (the CUDA kernels' .cu sources executed on the CPU)
// against the CPU backend: forward, backward, parameter gradients and BatchNorm statistics,
// with f32 and with bf16 activations (device_agreement.h states the tolerances and why).
// Also: bf16 on the cpu device is refused with a message, and contexts are checked.
#include <gtest/gtest.h>

#include "runtime/error.h"
#include "tests/layers/device_agreement.h"

namespace sombrero::test {
namespace {

class LayersOnSimt : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayersOnSimt, AgreeWithTheCpuBackend) {
  const LayerCase& c = GetParam();
  check_layer_on_device(Device::simt(), c.make, c.input, c.training, !c.residual_block);
}

INSTANTIATE_TEST_SUITE_P(EveryLayerType, LayersOnSimt, ::testing::ValuesIn(layer_cases()),
                         layer_case_name);

TEST(LayersOnDevices, Bf16OnTheCpuBackendIsRefused) {
  layers::Conv2d conv({3, 4, 3, 1, 1, false});
  layers::Context ctx;
  const Tensor x = Tensor::zeros({2, 6, 6, 3}, DType::bf16);
  try {
    conv.forward(ctx, x);
    FAIL() << "bf16 on cpu ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CPU backend computes in f32"), std::string::npos)
        << e.what();
  }
  ctx.precision = layers::Precision::bf16;
  EXPECT_THROW(layers::check_context_supported(ctx), Error);
  ctx.device = Device::simt();
  EXPECT_NO_THROW(layers::check_context_supported(ctx));
  ctx.precision = layers::Precision::f32;
  EXPECT_NO_THROW(layers::check_context_supported(ctx));
}

TEST(LayersOnDevices, ParametersOnAnotherDeviceAreNamed) {
  layers::BatchNorm2d bn({4});  // parameters on cpu, activations on simt
  layers::Context ctx;
  const Tensor x = Tensor::zeros({2, 3, 3, 4}, DType::f32, Device::simt());
  try {
    bn.forward(ctx, x);
    FAIL() << "mixed devices ran";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("share a device"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sombrero::test
