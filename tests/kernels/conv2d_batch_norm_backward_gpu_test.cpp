// Backward-data fused with a BatchNorm's backward sums (conv2d_backward_data_with_batch_norm,
// then batch_norm_backward_training_from_partials) on a real GPU, on every ResNet-50 shape
// whose input a BatchNorm produces (C a multiple of 8: all but the stem) at batch 8, on the
// default tile and, where wgmma runs, the m128_sync and n64_sync ones; a block's first
// convolution (names ending .conv1) also adds onto the shortcut's gradient, as in the model.
// Against the unfused passes on the GPU (backward-data, the mask on the host, the BatchNorm's
// own backward with the ReLU's output): g bit for bit, the partials within 1e-5 of their
// double reference, the BatchNorm's dx within a bf16 unit in the last place and dgamma, dbeta
// within 1e-5 of the summed magnitudes (tests/kernels/conv_batch_norm_reference.h).
// The ReLU's mask recomputed from the BatchNorm's input (relu_affine) gives the same bits as
// the mask read. Also the SIMT test's small shapes on every tile, for compute-sanitizer's
// racecheck.
// Skips with a message when no CUDA device is present.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "kernels/conv/conv2d_kernels.h"
#include "kernels/conv/resnet_conv_shapes.h"
#include "kernels/norm/batch_norm.h"
#include "runtime/device_info.h"
#include "tests/kernels/conv_batch_norm_reference.h"
#include "tests/kernels/conv_reference.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::DeviceBuffer;
using test::to_float;

constexpr int kBatch = 8;

// A block's first convolution ("layer1.0.conv1"): the one that adds onto a shortcut's gradient.
bool first_of_block(const std::string& name) {
  return name.size() >= 6 && name.compare(name.size() - 6, 6, ".conv1") == 0;
}

void check_shape(const NamedConvShape& named, const Conv2dKernelOptions& options,
                 const std::string& tile, bool accumulate) {
  const Conv2dShape& s = named.shape;
  const std::string what = named.name + " " + tile + (accumulate ? " accumulate" : "");
  const test::ConvBatchNormInputs in = test::make_conv_batch_norm_inputs(s, 7);
  const int C = s.in_channels;
  const BatchNormShape bn{std::int64_t(s.batch) * s.in_height * s.in_width, C};
  DeviceBuffer<bf16> dy(in.dy), w(in.w), y(in.relu_output), x(in.bn_input);
  DeviceBuffer<float> mean(in.mean), invstd(in.invstd), gamma(in.gamma);
  DeviceBuffer<float> workspace(std::vector<float>(batch_norm_workspace_floats(bn)));

  // Unfused.
  DeviceBuffer<bf16> dx(accumulate ? in.start : std::vector<bf16>(s.input_elements()));
  cuda::conv2d_backward_data(s, dy.get(), w.get(), dx.get(), nullptr, options, accumulate);
  const std::vector<float> g = test::masked_gradient(to_float(dx.download()), in.relu_output);
  DeviceBuffer<bf16> bn_dx(std::vector<bf16>(s.input_elements()));
  DeviceBuffer<float> dgamma(std::vector<float>(C, 0.25f)), dbeta(std::vector<float>(C, -0.5f));
  cuda::batch_norm_backward_training(bn, x.get(), dx.get(), gamma.get(), mean.get(), invstd.get(),
                                     bn_dx.get(), dgamma.get(), dbeta.get(), workspace.get(),
                                     nullptr, y.get());

  // Fused.
  const std::int64_t tiles = conv2d_gradient_partials_tiles(s, options);
  DeviceBuffer<bf16> fused(accumulate ? in.start : std::vector<bf16>(s.input_elements()));
  DeviceBuffer<float> partials(std::vector<float>(2 * std::size_t(tiles) * C, NAN));
  cuda::conv2d_backward_data_with_batch_norm(s, dy.get(), w.get(), fused.get(), y.get(), x.get(),
                                             mean.get(), partials.get(), nullptr, options,
                                             accumulate);
  DeviceBuffer<bf16> fused_bn_dx(std::vector<bf16>(s.input_elements()));
  DeviceBuffer<float> fused_dgamma(std::vector<float>(C, 0.25f)),
      fused_dbeta(std::vector<float>(C, -0.5f));
  cuda::batch_norm_backward_training_from_partials(
      bn, partials.get(), tiles, x.get(), fused.get(), gamma.get(), mean.get(), invstd.get(),
      fused_bn_dx.get(), fused_dgamma.get(), fused_dbeta.get(), workspace.get(), nullptr);

  EXPECT_EQ(to_float(fused.download()), g) << what;
  std::vector<double> scale;
  const std::vector<double> want =
      test::reference_partials(s, conv2d_gradient_partials_tile_rows(s, options), tiles, g,
                               to_float(in.bn_input), in.mean, scale);
  test::expect_partials(partials.download(), want, scale, C, what);
  test::expect_parameter_gradients(fused_dgamma.download(), dgamma.download(),
                                   fused_dbeta.download(), dbeta.download(), scale, tiles,
                                   in.invstd, what);
  test::expect_within_one_bf16_ulp(to_float(fused_bn_dx.download()), to_float(bn_dx.download()),
                                   what);
}

TEST(Conv2dBatchNormBackwardGpu, EveryResNet50ShapeAgreesWithTheUnfusedPasses) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const bool wgmma = runtime::wgmma_unavailable_reason().empty();
  for (const NamedConvShape& named : resnet50_conv_shapes(kBatch)) {
    if (named.shape.in_channels % 8 != 0) continue;  // the stem: no BatchNorm before it
    const bool accumulate = first_of_block(named.name);
    check_shape(named, {}, "default tile", accumulate);
    if (wgmma)
      for (const Conv2dWgmmaTile tile : {Conv2dWgmmaTile::m128_sync, Conv2dWgmmaTile::n64_sync})
        check_shape(named, {Conv2dTile::warpgroup, 0, tile}, "wgmma " + std::to_string(int(tile)),
                    accumulate);
  }
}

// The ReLU's mask recomputed from the BatchNorm's input and its forward coefficients
// (relu_affine) against the mask read from the output, both of the BatchNorm's own training
// forward on the GPU: g and the partials the same bits.
void check_recomputed_mask(const NamedConvShape& named, const Conv2dKernelOptions& options,
                           const std::string& tile, bool accumulate) {
  const Conv2dShape& s = named.shape;
  const std::string what = named.name + " " + tile + (accumulate ? " accumulate" : "");
  const test::ConvBatchNormInputs in = test::make_conv_batch_norm_inputs(s, 13);
  const int C = s.in_channels;
  const BatchNormShape bn{std::int64_t(s.batch) * s.in_height * s.in_width, C};
  std::vector<float> beta = test::random_values(C, 14);
  for (float& b : beta) b *= 0.3f;
  DeviceBuffer<bf16> dy(in.dy), w(in.w), x(in.bn_input), y(std::vector<bf16>(s.input_elements()));
  const std::vector<float> zeros(C), unset(2 * std::size_t(C), NAN);
  DeviceBuffer<float> gamma(in.gamma), beta_buffer(beta), mean(zeros), invstd(zeros), affine(unset);
  DeviceBuffer<float> workspace(std::vector<float>(batch_norm_workspace_floats(bn)));
  cuda::batch_norm_forward_training(bn, x.get(), gamma.get(), beta_buffer.get(), 1e-5f, 0.1f,
                                    y.get(), nullptr, nullptr, mean.get(), invstd.get(),
                                    workspace.get(), nullptr, /*relu=*/true, nullptr, affine.get());
  const std::int64_t tiles = conv2d_gradient_partials_tiles(s, options);
  DeviceBuffer<bf16> read(accumulate ? in.start : std::vector<bf16>(s.input_elements()));
  DeviceBuffer<bf16> recomputed(accumulate ? in.start : std::vector<bf16>(s.input_elements()));
  DeviceBuffer<float> read_partials(std::vector<float>(2 * std::size_t(tiles) * C, NAN));
  DeviceBuffer<float> recomputed_partials(std::vector<float>(2 * std::size_t(tiles) * C, NAN));
  cuda::conv2d_backward_data_with_batch_norm(s, dy.get(), w.get(), read.get(), y.get(), x.get(),
                                             mean.get(), read_partials.get(), nullptr, options,
                                             accumulate);
  cuda::conv2d_backward_data_with_batch_norm(s, dy.get(), w.get(), recomputed.get(), nullptr,
                                             x.get(), mean.get(), recomputed_partials.get(),
                                             nullptr, options, accumulate, affine.get());
  EXPECT_EQ(to_float(recomputed.download()), to_float(read.download())) << what;
  EXPECT_EQ(recomputed_partials.download(), read_partials.download()) << what;
}

TEST(Conv2dBatchNormBackwardGpu, EveryResNet50ShapeRecomputesTheMaskItWouldRead) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  for (const NamedConvShape& named : resnet50_conv_shapes(kBatch))
    if (named.shape.in_channels % 8 == 0)
      check_recomputed_mask(named, {}, "default tile", first_of_block(named.name));
}

// The SIMT test's small shapes on every tile (the 256-row one with an empty upper half,
// stride-2 phases, 1x1 stride 2, two column tiles), accumulating or not: what
// compute-sanitizer's racecheck runs (the ResNet-50 shapes take it too long).
TEST(Conv2dBatchNormBackwardGpu, SmallShapesOnEveryTile) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  std::vector<std::pair<std::string, Conv2dKernelOptions>> tiles = {{"small", {Conv2dTile::small}},
                                                                    {"large", {Conv2dTile::large}}};
  if (runtime::wgmma_unavailable_reason().empty())
    for (const Conv2dWgmmaTile tile : {Conv2dWgmmaTile::m128_sync, Conv2dWgmmaTile::m128_async,
                                       Conv2dWgmmaTile::m256_async, Conv2dWgmmaTile::n64_sync})
      tiles.push_back({"wgmma " + std::to_string(int(tile)), {Conv2dTile::warpgroup, 0, tile}});
  using test::square_conv;
  for (const auto& [tile, options] : tiles)
    for (const bool accumulate : {false, true})
      for (const NamedConvShape& named :
           {NamedConvShape{"9x9x16 3x3", square_conv(4, 9, 16, 24, 3, 1)},
            NamedConvShape{"9x9x16 3x3/2", square_conv(3, 9, 16, 16, 3, 2)},
            NamedConvShape{"8x8x16 1x1/2", square_conv(2, 8, 16, 32, 1, 2)},
            NamedConvShape{"6x6x136 3x3", square_conv(2, 6, 136, 16, 3, 1)}}) {
        check_shape(named, options, tile, accumulate);
        check_recomputed_mask(named, options, tile, accumulate);
      }
}

}  // namespace
}  // namespace sombrero::kernels
