// Every layer type on a real GPU (Device::cuda(0): the hand-written kernels, cuBLAS for
// Linear) against the CPU backend, with f32 and bf16 activations; the same checks and
// tolerances as the simt test (device_agreement.h). Skips with the reason when no CUDA device
// is present.
#include <gtest/gtest.h>

#include "runtime/device_info.h"
#include "tests/layers/device_agreement.h"

namespace sombrero::test {
namespace {

class LayersOnGpu : public ::testing::TestWithParam<LayerCase> {};

TEST_P(LayersOnGpu, AgreeWithTheCpuBackend) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const LayerCase& c = GetParam();
  check_layer_on_device(Device::cuda(0), c.make, c.input, c.training, !c.residual_block);
}

INSTANTIATE_TEST_SUITE_P(EveryLayerType, LayersOnGpu, ::testing::ValuesIn(layer_cases()),
                         layer_case_name);

}  // namespace
}  // namespace sombrero::test
