// The BatchNorm kernels on a real GPU (f32 and bf16 activations, with and without the fused
// ReLU): bit for bit against their SIMT execution (every product in the kernels is explicit:
// fmaf, __fmul_rn, __dmul_rn, so nvcc contracts nothing), and against the CPU backend within
// the summation bound of batch_norm_simt_test.cpp on a ResNet-sized shape. Skips with a
// message when no CUDA device is present.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/norm/batch_norm.h"
#include "runtime/device_info.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {
using test::widen;

using test::DeviceBuffer;
using test::relative_error;

constexpr float kEps = 1e-5f, kMomentum = 0.1f;

struct Outputs {
  std::vector<float> y, save_mean, save_invstd, running_mean, running_var, dx, dgamma, dbeta,
      y_eval, masked_gradient;
};

template <typename T>
std::vector<T> load(const std::vector<float>& v) {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else
    return test::to_bf16(v);
}

struct Inputs {
  BatchNormShape shape;
  std::vector<float> x, dy, gamma, beta, running_mean, running_var;
};

Inputs make_inputs(BatchNormShape shape) {
  const std::size_t n = std::size_t(shape.rows) * shape.channels, C = std::size_t(shape.channels);
  Inputs in{shape,
            test::rounded_to_bf16(test::random_values(n, 1)),
            test::rounded_to_bf16(test::random_values(n, 2)),
            test::random_values(C, 3),
            test::random_values(C, 4),
            test::random_values(C, 5),
            std::vector<float>(C, 1.5f)};
  for (float& v : in.x) v = 3.0f + 2.0f * v;  // exact in bf16 too (a power-of-two scale, +3)
  in.x = test::rounded_to_bf16(in.x);
  return in;
}

// fold (with relu): the backward also writes the masked gradient (the residual block's fold).
template <typename T>
Outputs run(const Inputs& in, bool relu, bool on_gpu, bool fold = false) {
  const std::size_t n = in.x.size(), C = in.gamma.size();
  const std::vector<T> x = load<T>(in.x), dy = load<T>(in.dy);
  std::vector<T> y(n), dx(n), y_eval(n), g(n);
  Outputs o{{},
            std::vector<float>(C),
            std::vector<float>(C),
            in.running_mean,
            in.running_var,
            {},
            std::vector<float>(C, 0.25f),
            std::vector<float>(C, -0.5f),
            {},
            {}};
  std::vector<float> workspace(batch_norm_workspace_floats(in.shape));
  if (!on_gpu) {
    simt::batch_norm_forward_training(in.shape, x.data(), in.gamma.data(), in.beta.data(), kEps,
                                      kMomentum, y.data(), o.running_mean.data(),
                                      o.running_var.data(), o.save_mean.data(),
                                      o.save_invstd.data(), workspace.data(), nullptr, relu);
    simt::batch_norm_backward_training(in.shape, x.data(), dy.data(), in.gamma.data(),
                                       o.save_mean.data(), o.save_invstd.data(), dx.data(),
                                       o.dgamma.data(), o.dbeta.data(), workspace.data(), nullptr,
                                       relu ? y.data() : nullptr, fold ? g.data() : nullptr);
    simt::batch_norm_forward_inference(in.shape, x.data(), in.gamma.data(), in.beta.data(),
                                       in.running_mean.data(), in.running_var.data(), kEps,
                                       y_eval.data(), nullptr, relu);
  } else {
    DeviceBuffer<T> d_x(x), d_dy(dy), d_y(y), d_dx(dx), d_y_eval(y_eval), d_g(g);
    DeviceBuffer<float> d_gamma(in.gamma), d_beta(in.beta), d_rm(o.running_mean),
        d_rv(o.running_var), d_mean(o.save_mean), d_invstd(o.save_invstd), d_dgamma(o.dgamma),
        d_dbeta(o.dbeta), d_ws(workspace), d_in_rm(in.running_mean), d_in_rv(in.running_var);
    cuda::batch_norm_forward_training(in.shape, d_x.get(), d_gamma.get(), d_beta.get(), kEps,
                                      kMomentum, d_y.get(), d_rm.get(), d_rv.get(), d_mean.get(),
                                      d_invstd.get(), d_ws.get(), nullptr, relu);
    cuda::batch_norm_backward_training(in.shape, d_x.get(), d_dy.get(), d_gamma.get(), d_mean.get(),
                                       d_invstd.get(), d_dx.get(), d_dgamma.get(), d_dbeta.get(),
                                       d_ws.get(), nullptr, relu ? d_y.get() : nullptr,
                                       fold ? d_g.get() : nullptr);
    cuda::batch_norm_forward_inference(in.shape, d_x.get(), d_gamma.get(), d_beta.get(),
                                       d_in_rm.get(), d_in_rv.get(), kEps, d_y_eval.get(), nullptr,
                                       relu);
    y = d_y.download();
    dx = d_dx.download();
    y_eval = d_y_eval.download();
    g = d_g.download();
    o.running_mean = d_rm.download();
    o.running_var = d_rv.download();
    o.save_mean = d_mean.download();
    o.save_invstd = d_invstd.download();
    o.dgamma = d_dgamma.download();
    o.dbeta = d_dbeta.download();
  }
  o.y = widen(y);
  o.dx = widen(dx);
  o.y_eval = widen(y_eval);
  if (fold) o.masked_gradient = widen(g);
  return o;
}

void expect_equal(const Outputs& a, const Outputs& b, const std::string& what) {
  EXPECT_EQ(a.y, b.y) << what;
  EXPECT_EQ(a.save_mean, b.save_mean) << what;
  EXPECT_EQ(a.save_invstd, b.save_invstd) << what;
  EXPECT_EQ(a.running_mean, b.running_mean) << what;
  EXPECT_EQ(a.running_var, b.running_var) << what;
  EXPECT_EQ(a.dx, b.dx) << what;
  EXPECT_EQ(a.dgamma, b.dgamma) << what;
  EXPECT_EQ(a.dbeta, b.dbeta) << what;
  EXPECT_EQ(a.y_eval, b.y_eval) << what;
  EXPECT_EQ(a.masked_gradient, b.masked_gradient) << what;
}

TEST(BatchNormGpu, EqualsTheSimtExecutionBitForBit) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  // 70 channels: one channel per thread (rows are not whole 16-byte vectors); 64 and 320:
  // 16-byte vectors (narrow rows several to a warp; full and partial 32-vector tiles).
  for (const int channels : {70, 64, 320})
    for (const bool relu : {false, true}) {
      const Inputs in = make_inputs({2 * 15 * 15, channels});
      const std::string what = std::to_string(channels) + (relu ? " channels, relu" : " channels");
      expect_equal(run<float>(in, relu, true), run<float>(in, relu, false), "f32, " + what);
      expect_equal(run<bf16>(in, relu, true), run<bf16>(in, relu, false), "bf16, " + what);
      if (!relu) continue;
      // The residual block's fold: the masked gradient written too, dx unchanged.
      const Outputs f32 = run<float>(in, true, true, true), b16 = run<bf16>(in, true, true, true);
      expect_equal(f32, run<float>(in, true, false, true), "f32 fold, " + what);
      expect_equal(b16, run<bf16>(in, true, false, true), "bf16 fold, " + what);
      const Outputs plain = run<float>(in, true, true);
      EXPECT_EQ(f32.dx, plain.dx) << what;
      EXPECT_EQ(f32.dgamma, plain.dgamma) << what;
      const std::vector<float> dy = load<float>(in.dy);
      for (std::size_t i = 0; i < dy.size(); ++i)
        ASSERT_EQ(f32.masked_gradient[i], f32.y[i] > 0.0f ? dy[i] : 0.0f) << what << ", " << i;
    }
}

TEST(BatchNormGpu, MatchesTheCpuBackendOnAResNetShape) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const Inputs in = make_inputs({32 * 56 * 56, 64});  // past the row-block cap: long chains
  const std::size_t n = in.x.size(), C = in.gamma.size();
  for (const bool relu : {false, true}) {
    const Outputs gpu = run<float>(in, relu, true);
    Outputs cpu{std::vector<float>(n),
                std::vector<float>(C),
                std::vector<float>(C),
                in.running_mean,
                in.running_var,
                std::vector<float>(n),
                std::vector<float>(C, 0.25f),
                std::vector<float>(C, -0.5f),
                std::vector<float>(n),
                {}};
    cpu::batch_norm_forward_training(in.shape, in.x.data(), in.gamma.data(), in.beta.data(), kEps,
                                     kMomentum, cpu.y.data(), cpu.running_mean.data(),
                                     cpu.running_var.data(), cpu.save_mean.data(),
                                     cpu.save_invstd.data(), relu);
    cpu::batch_norm_backward_training(in.shape, in.x.data(), in.dy.data(), in.gamma.data(),
                                      cpu.save_mean.data(), cpu.save_invstd.data(), cpu.dx.data(),
                                      cpu.dgamma.data(), cpu.dbeta.data(),
                                      relu ? gpu.y.data() : nullptr);
    // Chains of ~25 f32 adds per thread here (100352 rows / 4096 row lanes, 16-byte vectors),
    // row lanes then summed in double: inside the 1e-5 bound.
    EXPECT_LT(relative_error(gpu.y, cpu.y), 1e-5);
    EXPECT_LT(relative_error(gpu.save_mean, cpu.save_mean), 1e-5);
    EXPECT_LT(relative_error(gpu.save_invstd, cpu.save_invstd), 1e-5);
    EXPECT_LT(relative_error(gpu.running_var, cpu.running_var), 1e-5);
    EXPECT_LT(relative_error(gpu.dx, cpu.dx), 1e-4);
    const double u = std::ldexp(1.0, -24);
    for (std::size_t c = 0; c < C; ++c) {  // single sums: within 64 u sum |terms|
      double abs_dy = 0, abs_dy_xhat = 0;
      for (std::int64_t r = 0; r < in.shape.rows; ++r) {
        const std::size_t i = std::size_t(r) * C + c;
        const double g = relu && !(gpu.y[i] > 0) ? 0.0 : in.dy[i];
        abs_dy += std::abs(g);
        abs_dy_xhat += std::abs(g * (in.x[i] - cpu.save_mean[c]) * cpu.save_invstd[c]);
      }
      EXPECT_NEAR(gpu.dbeta[c], cpu.dbeta[c], 64 * u * (abs_dy + 1)) << "c " << c;
      EXPECT_NEAR(gpu.dgamma[c], cpu.dgamma[c], 64 * u * (abs_dy_xhat + 1)) << "c " << c;
    }
  }
}

}  // namespace
}  // namespace sombrero::kernels
