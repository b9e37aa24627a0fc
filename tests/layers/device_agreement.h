// One layer, two executions: the CPU backend (f32, the reference) against another device
// (simt: the CUDA kernels' sources on the CPU; cuda: the kernels on a GPU). Two identical
// layers (same construction, same random parameters and BatchNorm statistics) run forward
// and, in training mode, backward on the same inputs; the outputs, the input gradient, every
// parameter gradient and every buffer (BatchNorm running statistics, num_batches_tracked)
// must agree norm-wise: ||got - want|| <= tol ||want||.
//
//   f32, tol 1e-5: both sides compute the same f32 math and differ only in summation order
//   (the kernels' per-tile partial sums against the CPU's double chunk sums, OpenBLAS against
//   implicit GEMM). Each result here sums at most 72 terms (3x3x8 convolution taps, N*H*W =
//   72 rows of a channel), so one value's difference is below 72 u = 4.3e-6 of the sum of
//   |terms|, and norm-wise (independent rounding errors) about sqrt(72) u = 5e-7. 1e-5 leaves
//   room for a residual block's chain of layers and BatchNorm backward's subtraction, while a
//   wrong index, a missing term or a wrong factor gives errors of order 1e-1 or more.
//   bf16, tol 1e-2: the device runs with bf16 activations; inputs x and dy and the parameters
//   are rounded to bf16 values, and the reference is the CPU f32 run on the same values, so
//   the difference is the kernels' roundings of their bf16 outputs: each a relative error up
//   to 2^-9 = 2e-3 (RMS about 1.1e-3 norm-wise), one per layer output (plus one before the
//   bias for Linear, as cuBLAS rounds the GEMM result then y + bias): 1e-2 has a margin of 4
//   over two roundings, while a kernel that mixed up elements or channels is off by order 1.
//   Residual blocks in bf16 compare the forward (y, running statistics) only. Their
//   gradients pass the block's inner ReLUs (fused into BatchNorm) and the final ReLU, whose
//   derivative jumps at 0: a bf16-rounded activation within ~2^-9 of 0 lands on the other
//   side for some 0.1-1% of the elements, and each such element passes (or drops) its whole
//   dy. Norm-wise that is several % of a gradient, and O(1) of one that nearly cancels (a
//   BatchNorm bias feeding another BatchNorm): bf16 training's real behaviour, not a kernel
//   error, and no tolerance separates it from one. The bf16 backward of every layer type is
//   checked alone (identical inputs, so identical ReLU decisions), the blocks' f32 backward
//   at 1e-5, and Add, add_inplace and ShortcutA's kernels in bf16 bit for bit in
//   tests/kernels/pointwise_simt_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "layers/activation.h"
#include "layers/batch_norm2d.h"
#include "layers/conv2d.h"
#include "layers/layer.h"
#include "layers/linear.h"
#include "layers/pooling.h"
#include "layers/residual.h"
#include "runtime/generator.h"
#include "tests/support/test_values.h"

namespace sombrero::test {

using runtime::Device;
using runtime::DType;

struct LayerRun {
  std::vector<float> y, dx;
  std::vector<std::pair<std::string, std::vector<float>>> grads, buffers;
  std::vector<std::pair<std::string, std::int64_t>> counters;
};

// The same random parameters (norm weights around 1) and BatchNorm statistics (variances in
// [0.5, 1.5]) for every layer built the same way; zero gradients.
inline void initialize(layers::Layer& layer, std::uint64_t seed) {
  runtime::Generator gen(seed);
  for (const layers::NamedParameter& p : layer.named_parameters()) {
    const bool norm_weight = p.parameter->role == layers::ParameterRole::norm_weight;
    p.parameter->value.fill_normal(gen, norm_weight ? 1.0f : 0.0f, norm_weight ? 0.3f : 0.5f);
    p.parameter->grad.fill(0.0f);
  }
  for (const layers::NamedBuffer& b : layer.named_buffers()) {
    if (b.tensor == nullptr) continue;
    if (b.name.ends_with("running_var"))
      b.tensor->fill_uniform(gen, 0.5f, 1.5f);
    else
      b.tensor->fill_normal(gen, 0.0f, 0.5f);
  }
}

// Rounds every parameter to a bf16 value (kept in f32): the bf16 weight copies the layers
// make are then exact, and the comparison sees the activations' roundings only.
inline void round_parameters_to_bf16(layers::Layer& layer) {
  for (const layers::NamedParameter& p : layer.named_parameters())
    p.parameter->value = p.parameter->value.to_dtype(DType::bf16).to_dtype(DType::f32);
}

// Moves parameters, gradients and buffers to `device` (what Model::to does for a model).
inline void move_to(layers::Layer& layer, Device device) {
  for (const layers::NamedParameter& p : layer.named_parameters()) {
    p.parameter->value = p.parameter->value.to(device);
    p.parameter->grad = p.parameter->grad.to(device);
  }
  for (const layers::NamedBuffer& b : layer.named_buffers())
    if (b.tensor != nullptr) *b.tensor = b.tensor->to(device);
}

inline LayerRun run_layer(layers::Layer& layer, Device device, DType dtype,
                          const runtime::Shape& input_shape, const std::vector<float>& x,
                          const std::vector<float>& dy, bool training,
                          kernels::ConvAlgo conv_algo = kernels::ConvAlgo::hand) {
  layers::Context ctx;
  ctx.device = device;
  ctx.conv_algo = conv_algo;
  ctx.training = training;
  ctx.precision = dtype == DType::bf16 ? layers::Precision::bf16 : layers::Precision::f32;
  LayerRun run;
  const Tensor xt = Tensor::from_floats(input_shape, x, dtype, device);
  const Tensor y = layer.forward(ctx, xt);
  EXPECT_EQ(y.dtype(), dtype) << layer.describe() << ": the output keeps the input's dtype";
  EXPECT_EQ(y.device(), device) << layer.describe() << ": the output keeps the input's device";
  run.y = y.to_floats();
  if (training) {
    const Tensor dyt = Tensor::from_floats(y.shape(), dy, dtype, device);
    const Tensor dx = layer.backward(ctx, dyt);
    EXPECT_EQ(dx.dtype(), dtype) << layer.describe();
    EXPECT_EQ(dx.device(), device) << layer.describe();
    run.dx = dx.to_floats();
  }
  for (const layers::NamedParameter& p : layer.named_parameters()) {
    EXPECT_EQ(p.parameter->grad.dtype(), DType::f32) << p.name << ": master gradients are f32";
    run.grads.emplace_back(p.name, p.parameter->grad.to_floats());
  }
  for (const layers::NamedBuffer& b : layer.named_buffers()) {
    if (b.tensor != nullptr)
      run.buffers.emplace_back(b.name, b.tensor->to_floats());
    else
      run.counters.emplace_back(b.name, *b.counter);
  }
  return run;
}

// ||got - want|| / ||want|| (0 when both are zero).
inline double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    norm += double(want[i]) * want[i];
  }
  if (norm == 0) return diff == 0 ? 0.0 : INFINITY;
  return std::sqrt(diff / norm);
}

inline void expect_close(const std::string& what, const std::vector<float>& got,
                         const std::vector<float>& want, double tol) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double err = relative_error(got, want);
  EXPECT_LE(err, tol) << what << ": relative norm-wise error " << err;
}

// compare_gradients false: the forward's results only (y, buffers, counters).
inline void expect_same_run(const std::string& label, const LayerRun& got, const LayerRun& want,
                            double tol, bool compare_gradients = true) {
  expect_close(label + " y", got.y, want.y, tol);
  ASSERT_EQ(got.dx.size(), want.dx.size()) << label;
  ASSERT_EQ(got.grads.size(), want.grads.size()) << label;
  if (compare_gradients) {
    expect_close(label + " dx", got.dx, want.dx, tol);
    for (std::size_t i = 0; i < want.grads.size(); ++i)
      expect_close(label + " grad " + want.grads[i].first, got.grads[i].second,
                   want.grads[i].second, tol);
  }
  ASSERT_EQ(got.buffers.size(), want.buffers.size());
  for (std::size_t i = 0; i < want.buffers.size(); ++i)
    expect_close(label + " buffer " + want.buffers[i].first, got.buffers[i].second,
                 want.buffers[i].second, tol);
  EXPECT_EQ(got.counters, want.counters) << label;
}

using LayerFactory = std::function<std::unique_ptr<layers::Layer>()>;

// The layer on `device` against the CPU backend, in f32 and with bf16 activations (bf16
// gradients compared unless bf16_gradients is false: residual blocks, see above).
inline void check_layer_on_device(Device device, const LayerFactory& make,
                                  const runtime::Shape& input_shape, bool training = true,
                                  bool bf16_gradients = true, std::uint64_t seed = 1) {
  const std::unique_ptr<layers::Layer> probe = make();
  const runtime::Shape output_shape = probe->output_shape(input_shape);
  const std::vector<float> x = random_values(std::size_t(input_shape.numel()), unsigned(seed));
  const std::vector<float> dy =
      random_values(std::size_t(output_shape.numel()), unsigned(seed + 1));
  for (const DType dtype : {DType::f32, DType::bf16}) {
    const bool bf16 = dtype == DType::bf16;
    const std::vector<float> xs = bf16 ? rounded_to_bf16(x) : x;
    const std::vector<float> dys = bf16 ? rounded_to_bf16(dy) : dy;
    const std::unique_ptr<layers::Layer> reference = make(), tested = make();
    for (layers::Layer* layer : {reference.get(), tested.get()}) {
      initialize(*layer, seed + 2);
      if (bf16) round_parameters_to_bf16(*layer);
    }
    move_to(*tested, device);
    const LayerRun want =
        run_layer(*reference, Device::cpu(), DType::f32, input_shape, xs, dys, training);
    const LayerRun got = run_layer(*tested, device, dtype, input_shape, xs, dys, training);
    expect_same_run(
        reference->describe() + (bf16 ? " bf16" : " f32") + (training ? " train" : " eval"), got,
        want, bf16 ? 1e-2 : 1e-5, !bf16 || bf16_gradients);
  }
}

// Every layer type, on tiny shapes (N = 2, 6x6, C <= 8: simt runs each CUDA thread as a fiber).
struct LayerCase {
  std::string name;
  LayerFactory make;
  runtime::Shape input;
  bool training = true;
  bool residual_block = false;  // bf16: forward compared only (see above)
};

inline std::vector<LayerCase> layer_cases() {
  using namespace layers;
  const auto bn = [](BatchNorm2dOptions o) {
    return [o] { return std::make_unique<BatchNorm2d>(o); };
  };
  return {
      {"Conv2dStride2WithBias",
       [] {
         return std::make_unique<Conv2d>(Conv2dOptions{3, 8, 3, 2, 1, true});
       },
       {2, 6, 6, 3}},
      {"Conv2dSame3x3NoBias",
       [] {
         return std::make_unique<Conv2d>(Conv2dOptions{8, 4, 3, 1, 1, false});
       },
       {2, 6, 6, 8}},
      {"BatchNorm2dTraining", bn({5}), {2, 6, 6, 5}},
      {"BatchNorm2dTrainingFusedReLU", bn({5, 1e-5f, 0.1f, true}), {2, 6, 6, 5}},
      {"BatchNorm2dEval", bn({5}), {2, 6, 6, 5}, false},
      {"BatchNorm2dEvalFusedReLU", bn({5, 1e-5f, 0.1f, true}), {2, 6, 6, 5}, false},
      {"ReLU", [] { return std::make_unique<ReLU>(); }, {2, 6, 6, 4}},
      {"MaxPool2dStem",
       [] {
         return std::make_unique<MaxPool2d>(Pool2dOptions{3, 2, 1});
       },
       {2, 6, 6, 3}},
      {"AvgPool2d",
       [] {
         return std::make_unique<AvgPool2d>(Pool2dOptions{3, 2, 1});
       },
       {2, 6, 6, 3}},
      {"GlobalAvgPool", [] { return std::make_unique<GlobalAvgPool>(); }, {2, 6, 6, 5}},
      {"LinearWithBias",
       [] {
         return std::make_unique<Linear>(LinearOptions{12, 5, true});
       },
       {2, 12}},
      {"Flatten", [] { return std::make_unique<Flatten>(); }, {2, 3, 3, 4}},
      {"BasicBlockIdentity",
       [] {
         return std::make_unique<BasicBlock>(BlockOptions{4, 4, 1, ShortcutKind::B});
       },
       {2, 6, 6, 4},
       true,
       true},
      {"BasicBlockProjection",
       [] {
         return std::make_unique<BasicBlock>(BlockOptions{4, 8, 2, ShortcutKind::B});
       },
       {2, 6, 6, 4},
       true,
       true},
      {"BottleneckProjection",
       [] {
         return std::make_unique<Bottleneck>(BlockOptions{4, 2, 2, ShortcutKind::B});
       },
       {2, 6, 6, 4},
       true,
       true},
      {"BasicBlockShortcutA",
       [] {
         return std::make_unique<BasicBlock>(BlockOptions{4, 8, 2, ShortcutKind::A});
       },
       {2, 6, 6, 4},
       true,
       true},
      // 8 channels: bf16 vectors too, so the fused block tail runs its 16-byte path (bf16
      // blocks compare the forward; the backward-data epilogue's add of the shortcut's
      // gradient is checked bit for bit in tests/kernels/conv2d_simt_test.cpp).
      {"BasicBlockIdentity8",
       [] {
         return std::make_unique<BasicBlock>(BlockOptions{8, 8, 1, ShortcutKind::B});
       },
       {2, 6, 6, 8},
       true,
       true},
  };
}

// gtest prints a parameter by its name (not its bytes).
inline void PrintTo(const LayerCase& c, std::ostream* out) {
  *out << c.name;
}

inline std::string layer_case_name(const ::testing::TestParamInfo<LayerCase>& info) {
  return info.param.name;
}

}  // namespace sombrero::test
