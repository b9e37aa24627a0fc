// The BatchNorm kernels (kernels/norm/batch_norm.cu) executed on the CPU (runtime/simt) against
// the CPU backend, under every schedule (results identical across schedules):
//   - small-integer inputs with a power-of-two row count: every sum is exact in f32, so the
//     kernels (same double finalisation, same unfused elementwise expressions) equal the CPU
//     backend bit for bit: y, save_mean, save_invstd, running stats, dx, dgamma, dbeta;
//   - random inputs (mean 3, std 2): tolerances from the summation (below);
//   - bf16 activations: the kernels widen bf16 exactly and round once at the end, so on
//     bf16-representable inputs they produce exactly the bf16 rounding of the f32 kernels'
//     outputs and the same f32 statistics and gradients, bit for bit;
//   - fused ReLU forward and backward, eval mode, odd channel counts, channel counts whose
//     rows split into 16-byte vectors (narrow rows, full and partial 32-vector tiles) and the
//     same off alignment (one element per thread), several row blocks, and a shape past the
//     256-row-block cap (grid-stride rows).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/norm/batch_norm.h"
#include "runtime/error.h"
#include "runtime/simt/schedule.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::relative_error;

struct Inputs {
  BatchNormShape shape;
  std::vector<float> x, dy, gamma, beta, running_mean, running_var, dgamma, dbeta;
};

Inputs make_inputs(BatchNormShape shape, bool integers, unsigned seed) {
  Inputs in{shape, {}, {}, {}, {}, {}, {}, {}, {}};
  const std::size_t n = std::size_t(shape.rows) * shape.channels, C = std::size_t(shape.channels);
  if (integers) {
    in.x = test::small_integers(n, seed);
    in.dy = test::small_integers(n, seed + 1);
    in.gamma = test::small_integers(C, seed + 2);
    in.beta = test::small_integers(C, seed + 3);
  } else {
    in.x = test::random_values(n, seed);
    for (float& v : in.x) v = 3.0f + 2.0f * v;
    in.dy = test::random_values(n, seed + 1);
    in.gamma = test::random_values(C, seed + 2);
    in.beta = test::random_values(C, seed + 3);
  }
  in.x = test::rounded_to_bf16(in.x);  // so the bf16 kernels see the same values
  in.dy = test::rounded_to_bf16(in.dy);
  in.running_mean = integers ? test::small_integers(C, seed + 4) : test::random_values(C, seed + 4);
  in.running_var.assign(C, 1.5f);
  in.dgamma.assign(C, 0.25f);  // accumulated onto
  in.dbeta.assign(C, -0.5f);
  return in;
}

struct Outputs {
  std::vector<float> y, save_mean, save_invstd, running_mean, running_var, dx, dgamma, dbeta,
      y_eval;
};

constexpr float kEps = 1e-5f, kMomentum = 0.1f;

Outputs run_cpu(const Inputs& in, bool relu) {
  const std::size_t n = in.x.size(), C = in.gamma.size();
  Outputs o{std::vector<float>(n),
            std::vector<float>(C),
            std::vector<float>(C),
            in.running_mean,
            in.running_var,
            std::vector<float>(n),
            in.dgamma,
            in.dbeta,
            std::vector<float>(n)};
  cpu::batch_norm_forward_training(
      in.shape, in.x.data(), in.gamma.data(), in.beta.data(), kEps, kMomentum, o.y.data(),
      o.running_mean.data(), o.running_var.data(), o.save_mean.data(), o.save_invstd.data(), relu);
  // The CPU sees the bf16-rounded forward output as the ReLU mask, as the bf16 kernel does.
  const std::vector<float> mask = test::rounded_to_bf16(o.y);
  cpu::batch_norm_backward_training(in.shape, in.x.data(), in.dy.data(), in.gamma.data(),
                                    o.save_mean.data(), o.save_invstd.data(), o.dx.data(),
                                    o.dgamma.data(), o.dbeta.data(), relu ? mask.data() : nullptr);
  cpu::batch_norm_forward_inference(in.shape, in.x.data(), in.gamma.data(), in.beta.data(),
                                    in.running_mean.data(), in.running_var.data(), kEps,
                                    o.y_eval.data(), relu);
  return o;
}

// T = float or bf16; outputs widened to f32. offset > 0 places every activation that many
// elements into its buffer, off the 16-byte alignment: the kernels' scalar path.
template <typename T>
Outputs run_simt(const Inputs& in, bool relu, std::size_t offset = 0) {
  const std::size_t n = in.x.size(), C = in.gamma.size();
  const auto load = [](const std::vector<float>& v) {
    if constexpr (std::is_same_v<T, float>)
      return v;
    else
      return test::to_bf16(v);
  };
  const auto widen = [](const std::vector<T>& v) {
    if constexpr (std::is_same_v<T, float>)
      return v;
    else
      return test::to_float(v);
  };
  const auto place = [offset](std::vector<T> v) {
    v.insert(v.begin(), offset, T{});
    return v;
  };
  const auto unplace = [offset](const std::vector<T>& v) {
    return std::vector<T>(v.begin() + static_cast<std::ptrdiff_t>(offset), v.end());
  };
  const std::vector<T> x_buffer = place(load(in.x)), dy_buffer = place(load(in.dy));
  const T* const x = x_buffer.data() + offset;
  const T* const dy = dy_buffer.data() + offset;
  std::vector<T> y(n + offset), dx(n + offset), y_eval(n + offset);
  Outputs o{{},
            std::vector<float>(C),
            std::vector<float>(C),
            in.running_mean,
            in.running_var,
            {},
            in.dgamma,
            in.dbeta,
            {}};
  std::vector<float> workspace(batch_norm_workspace_floats(in.shape), std::nanf(""));
  simt::batch_norm_forward_training(in.shape, x, in.gamma.data(), in.beta.data(), kEps, kMomentum,
                                    y.data() + offset, o.running_mean.data(), o.running_var.data(),
                                    o.save_mean.data(), o.save_invstd.data(), workspace.data(),
                                    nullptr, relu);
  // With the ReLU, the f32 kernel is given the bf16-rounded output as its mask (as the CPU).
  std::vector<T> mask =
      relu ? place(load(test::rounded_to_bf16(widen(unplace(y))))) : std::vector<T>{};
  simt::batch_norm_backward_training(in.shape, x, dy, in.gamma.data(), o.save_mean.data(),
                                     o.save_invstd.data(), dx.data() + offset, o.dgamma.data(),
                                     o.dbeta.data(), workspace.data(), nullptr,
                                     relu ? mask.data() + offset : nullptr);
  simt::batch_norm_forward_inference(in.shape, x, in.gamma.data(), in.beta.data(),
                                     in.running_mean.data(), in.running_var.data(), kEps,
                                     y_eval.data() + offset, nullptr, relu);
  o.y = widen(unplace(y));
  o.dx = widen(unplace(dx));
  o.y_eval = widen(unplace(y_eval));
  return o;
}

#define EXPECT_ALL_EQ(a, b, what)                        \
  EXPECT_EQ((a).y, (b).y) << what;                       \
  EXPECT_EQ((a).save_mean, (b).save_mean) << what;       \
  EXPECT_EQ((a).save_invstd, (b).save_invstd) << what;   \
  EXPECT_EQ((a).running_mean, (b).running_mean) << what; \
  EXPECT_EQ((a).running_var, (b).running_var) << what;   \
  EXPECT_EQ((a).dx, (b).dx) << what;                     \
  EXPECT_EQ((a).dgamma, (b).dgamma) << what;             \
  EXPECT_EQ((a).dbeta, (b).dbeta) << what;               \
  EXPECT_EQ((a).y_eval, (b).y_eval) << what

// Runs the f32 and bf16 kernels under every schedule (identical results required) and checks
// the bf16 ones against the f32 ones; returns the f32 outputs. With exact sums (small
// integers) bf16 storage only rounds the activations once: bit for bit the f32 kernel's
// results, rounded. Otherwise the two tile their channels differently (16-byte vectors of 4
// f32 or 8 bf16 per thread, so different row partitions): their sums are each within the
// summation bound of the exact ones (see RandomInputs... below: 2.5e-6 sum|terms|), so the
// statistics agree to 2e-5 and dgamma, dbeta (sum|terms| / |sum| ~ 10 here) to 1e-4
// normwise, and the bf16 outputs are the f32 ones rounded, up to a tie flipped by that
// difference: within one bf16 ulp (2^-8 relative).
Outputs run_all_schedules(const Inputs& in, bool relu, int schedules, bool exact_sums) {
  Outputs first;
  for (int s = 0; s < schedules; ++s) {
    const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
    const Outputs f32 = run_simt<float>(in, relu);
    const Outputs b16 = run_simt<bf16>(in, relu);
    Outputs expected_b16 = f32;  // bf16 storage rounds the activations once, nothing else
    expected_b16.y = test::rounded_to_bf16(f32.y);
    expected_b16.dx = test::rounded_to_bf16(f32.dx);
    expected_b16.y_eval = test::rounded_to_bf16(f32.y_eval);
    if (exact_sums) {
      EXPECT_ALL_EQ(b16, expected_b16, "bf16 against the f32 kernel, schedule " << s);
    } else {
      const std::string what = "bf16 against the f32 kernel, schedule " + std::to_string(s);
      EXPECT_LT(relative_error(b16.save_mean, f32.save_mean), 2e-5) << what;
      EXPECT_LT(relative_error(b16.save_invstd, f32.save_invstd), 2e-5) << what;
      EXPECT_LT(relative_error(b16.running_mean, f32.running_mean), 2e-5) << what;
      EXPECT_LT(relative_error(b16.running_var, f32.running_var), 2e-5) << what;
      EXPECT_LT(relative_error(b16.dgamma, f32.dgamma), 1e-4) << what;
      EXPECT_LT(relative_error(b16.dbeta, f32.dbeta), 1e-4) << what;
      EXPECT_LT(relative_error(b16.y, expected_b16.y), 1.0 / 256) << what;
      EXPECT_LT(relative_error(b16.dx, expected_b16.dx), 1.0 / 256) << what;
      EXPECT_EQ(b16.y_eval, expected_b16.y_eval) << what;  // no sums
    }
    if (s == 0) {
      first = f32;
    } else {
      EXPECT_ALL_EQ(f32, first, "schedule " << s << " against schedule 0");
    }
  }
  return first;
}

class BatchNormSimt : public ::testing::TestWithParam<bool> {};  // relu

TEST_P(BatchNormSimt, SmallIntegersEqualTheCpuBackendBitForBit) {
  const bool relu = GetParam();
  // Rows a power of two (the mean is exact) and small: |x - mean| <= 4 in units of 1/512, so
  // every sum of squares and of g (x - mean) stays below 2^24 units: exact in f32.
  // Channel counts for every tiling: 5, 35 (one element per thread); 24 (16-byte vectors,
  // 6 f32 / 3 bf16 per row: several rows under one warp); 320 (80 / 40 vectors: full
  // 32-lane tiles and a partial one).
  for (const BatchNormShape shape : {BatchNormShape{64, 5}, BatchNormShape{512, 35},
                                     BatchNormShape{128, 24}, BatchNormShape{32, 320}}) {
    const Inputs in = make_inputs(shape, true, 11);
    const Outputs cpu = run_cpu(in, relu);
    const Outputs got = run_all_schedules(in, relu, sombrero::simt::kTestScheduleCount, true);
    EXPECT_ALL_EQ(got, cpu, "rows " << shape.rows << " channels " << shape.channels);
    // The same channels off the 16-byte alignment take the one-element path: same results.
    EXPECT_ALL_EQ(run_simt<float>(in, relu, 1), cpu, "f32 misaligned, channels " << shape.channels);
  }
}

// Random inputs. The kernel sums in f32 per thread (chains of at most 16 + 8 terms at these
// shapes; 34 + 8 past the row-block cap) and in double across blocks; the CPU in double. A
// chain of k adds errs by at most k u sum|terms| (u = 2^-24), so each per-channel sum is within
// 42 u sum|terms| ~ 2.5e-6 sum|terms|. The statistics (mean 3, std 2 data: sum|x| / |sum(x -
// mean)^2| ~ 1) and the outputs inherit a few times that: 2e-5 normwise. dgamma / dbeta are
// single sums: each within 64 u sum_r |term| of the CPU's (the bound above plus f32 rounding
// of the CPU's own result).
TEST_P(BatchNormSimt, RandomInputsMatchTheCpuBackendWithinTheSummationBound) {
  const bool relu = GetParam();
  for (const BatchNormShape shape : {BatchNormShape{70, 40}, BatchNormShape{601, 19},
                                     BatchNormShape{34000, 3}, BatchNormShape{96, 320}}) {
    const Inputs in = make_inputs(shape, false, 5);
    const Outputs cpu = run_cpu(in, relu);
    // The large shape (past the 256-row-block cap) runs under one schedule only, for time.
    const Outputs got = run_all_schedules(
        in, relu, shape.rows > 10000 ? 1 : sombrero::simt::kTestScheduleCount, false);
    const std::string what = "rows " + std::to_string(shape.rows);
    EXPECT_LT(relative_error(got.y, cpu.y), 2e-5) << what;
    EXPECT_LT(relative_error(got.save_mean, cpu.save_mean), 2e-5) << what;
    EXPECT_LT(relative_error(got.save_invstd, cpu.save_invstd), 2e-5) << what;
    EXPECT_LT(relative_error(got.running_mean, cpu.running_mean), 2e-5) << what;
    EXPECT_LT(relative_error(got.running_var, cpu.running_var), 2e-5) << what;
    EXPECT_LT(relative_error(got.dx, cpu.dx), 2e-5) << what;
    EXPECT_EQ(got.y_eval, cpu.y_eval) << what;  // no sums: the same expressions, bit for bit
    const int C = shape.channels;
    const std::vector<float> mask = test::rounded_to_bf16(cpu.y);
    for (int c = 0; c < C; ++c) {
      double abs_dy = 0, abs_dy_xhat = 0;
      for (std::int64_t r = 0; r < shape.rows; ++r) {
        const std::size_t i = std::size_t(r) * C + c;
        const double g = relu && !(mask[i] > 0) ? 0.0 : in.dy[i];
        abs_dy += std::abs(g);
        abs_dy_xhat += std::abs(g * (in.x[i] - cpu.save_mean[c]) * cpu.save_invstd[c]);
      }
      const double u = std::ldexp(1.0, -24);
      EXPECT_NEAR(got.dbeta[c], cpu.dbeta[c], 64 * u * (abs_dy + 1)) << what << " c " << c;
      EXPECT_NEAR(got.dgamma[c], cpu.dgamma[c], 64 * u * (abs_dy_xhat + 1)) << what << " c " << c;
    }
  }
}

// The training forward from a convolution's per-tile statistics (sum and centred sum of
// squares per tile of tile_rows rows, the last tile partial) equals the ordinary training
// forward within the latter's summation bound (2e-5 normwise, as above): the statistics here
// are exact (double, rounded once to f32), the combination in double.
void expect_from_statistics_matches_two_pass(const BatchNormShape& shape, int tile_rows,
                                             bool relu) {
  const int C = shape.channels;
  const Inputs in = make_inputs(shape, false, 9);
  const int tiles = (int(shape.rows) + tile_rows - 1) / tile_rows;
  std::vector<float> statistics(std::size_t(2 * tiles * C));
  for (int t = 0; t < tiles; ++t)
    for (int c = 0; c < C; ++c) {
      const int first = t * tile_rows, n = std::min<int>(tile_rows, int(shape.rows) - first);
      double sum = 0, squares = 0;
      for (int r = first; r < first + n; ++r) sum += in.x[std::size_t(r) * C + c];
      for (int r = first; r < first + n; ++r) {
        const double d = in.x[std::size_t(r) * C + c] - sum / n;
        squares += d * d;
      }
      statistics[std::size_t(2 * t) * C + c] = float(sum);
      statistics[std::size_t(2 * t + 1) * C + c] = float(squares);
    }
  const Outputs want = run_simt<bf16>(in, relu);
  const std::vector<bf16> x = test::to_bf16(in.x);
  std::vector<bf16> y(x.size());
  std::vector<float> mean(C), invstd(C), running_mean = in.running_mean,
                                         running_var = in.running_var;
  std::vector<float> workspace(batch_norm_workspace_floats(shape), std::nanf(""));
  simt::batch_norm_forward_training_from_statistics(
      shape, statistics.data(), tile_rows, x.data(), in.gamma.data(), in.beta.data(), kEps,
      kMomentum, y.data(), running_mean.data(), running_var.data(), mean.data(), invstd.data(),
      workspace.data(), nullptr, relu);
  EXPECT_LT(relative_error(test::to_float(y), want.y), 1.0 / 256);  // a bf16 ulp at most
  EXPECT_LT(relative_error(mean, want.save_mean), 2e-5);
  EXPECT_LT(relative_error(invstd, want.save_invstd), 2e-5);
  EXPECT_LT(relative_error(running_mean, want.running_mean), 2e-5);
  EXPECT_LT(relative_error(running_var, want.running_var), 2e-5);
}

// 5 tiles of 64 rows: one segment, most of the 8 lanes of each segment block empty.
TEST_P(BatchNormSimt, FromEpilogueStatisticsMatchesTheTwoPassForward) {
  expect_from_statistics_matches_two_pass({300, 40}, 64, GetParam());
}

// 1667 tiles of 3 rows (the last of 2): 14 segments of 120 tiles, 15 per lane, the last segment
// and lane short, 40 channels (a partial 32-channel block): every merge of the two launches.
TEST_P(BatchNormSimt, FromManyTilesMatchesTheTwoPassForward) {
  expect_from_statistics_matches_two_pass({5000, 40}, 3, GetParam());
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutRelu, BatchNormSimt, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "relu" : "plain"; });

// The residual block's fold (BatchNorm2d::backward_through_relu): with masked_gradient the
// backward also writes g = dy where relu_output > 0, else 0, from its sums pass, and its dx
// pass reads g instead of recomputing the mask. Against the same call without it: dx, dgamma
// and dbeta bit for bit, and g equal to a ReLU backward's output, for the vector path
// (16 channels), the scalar path (5 channels, and 16 one element off alignment), f32 and bf16,
// under every schedule.
template <typename T>
void expect_masked_gradient_fold_exact(BatchNormShape shape, std::size_t offset) {
  const Inputs in = make_inputs(shape, /*integers=*/false, 11);
  const std::size_t n = in.x.size(), C = in.gamma.size();
  using test::widen;
  const auto placed = [&](const std::vector<float>& v) {
    std::vector<T> out(offset, T{});
    const std::vector<T> values = test::as<T>(v);
    out.insert(out.end(), values.begin(), values.end());
    return out;
  };
  // A mask with both signs and exact zeros: the residual block's output y = max(., 0).
  std::vector<float> relu_values = test::random_values(n, 12);
  for (std::size_t i = 0; i < n; ++i) relu_values[i] = i % 7 == 0 ? 0.0f : relu_values[i];
  const std::vector<T> x = placed(in.x), dy = placed(in.dy), relu = placed(relu_values);
  const std::vector<float> mean = test::random_values(C, 13);
  std::vector<float> invstd(C, 0.75f);
  for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
    const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
    SCOPED_TRACE(sombrero::simt::test_schedule(s).name());
    std::vector<float> workspace(batch_norm_workspace_floats(shape));
    std::vector<T> dx_plain(n + offset), dx_folded(n + offset), g(n + offset, T{});
    std::vector<float> dgamma_plain = in.dgamma, dbeta_plain = in.dbeta;
    std::vector<float> dgamma_folded = in.dgamma, dbeta_folded = in.dbeta;
    simt::batch_norm_backward_training(
        shape, x.data() + offset, dy.data() + offset, in.gamma.data(), mean.data(), invstd.data(),
        dx_plain.data() + offset, dgamma_plain.data(), dbeta_plain.data(), workspace.data(),
        nullptr, relu.data() + offset);
    simt::batch_norm_backward_training(
        shape, x.data() + offset, dy.data() + offset, in.gamma.data(), mean.data(), invstd.data(),
        dx_folded.data() + offset, dgamma_folded.data(), dbeta_folded.data(), workspace.data(),
        nullptr, relu.data() + offset, g.data() + offset);
    EXPECT_EQ(widen(dx_folded), widen(dx_plain));
    EXPECT_EQ(dgamma_folded, dgamma_plain);
    EXPECT_EQ(dbeta_folded, dbeta_plain);
    const std::vector<float> g_values = widen(g), dy_values = widen(dy);
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_EQ(g_values[offset + i], relu_values[i] > 0.0f ? dy_values[offset + i] : 0.0f)
          << "element " << i;
  }
}

TEST(BatchNormSimtFold, MaskedGradientComesWithTheSameDxBitForBit) {
  for (std::size_t offset : {std::size_t(0), std::size_t(1)}) {
    SCOPED_TRACE(offset ? "one element off alignment" : "aligned");
    expect_masked_gradient_fold_exact<float>({96, 16}, offset);
    expect_masked_gradient_fold_exact<bf16>({96, 16}, offset);
    expect_masked_gradient_fold_exact<float>({96, 5}, offset);
    expect_masked_gradient_fold_exact<bf16>({96, 5}, offset);
  }
}

TEST(BatchNormSimtFold, CpuBackendWritesTheSameMaskedGradient) {
  const BatchNormShape shape{64, 6};
  const Inputs in = make_inputs(shape, /*integers=*/false, 14);
  const std::size_t n = in.x.size(), C = in.gamma.size();
  std::vector<float> relu_values = test::random_values(n, 15);
  const std::vector<float> mean = test::random_values(C, 16), invstd(C, 0.5f);
  std::vector<float> dx_plain(n), dx_folded(n), g(n, NAN);
  std::vector<float> dgamma_plain = in.dgamma, dbeta_plain = in.dbeta;
  std::vector<float> dgamma_folded = in.dgamma, dbeta_folded = in.dbeta;
  cpu::batch_norm_backward_training(shape, in.x.data(), in.dy.data(), in.gamma.data(), mean.data(),
                                    invstd.data(), dx_plain.data(), dgamma_plain.data(),
                                    dbeta_plain.data(), relu_values.data());
  cpu::batch_norm_backward_training(shape, in.x.data(), in.dy.data(), in.gamma.data(), mean.data(),
                                    invstd.data(), dx_folded.data(), dgamma_folded.data(),
                                    dbeta_folded.data(), relu_values.data(), g.data());
  EXPECT_EQ(dx_folded, dx_plain);
  EXPECT_EQ(dgamma_folded, dgamma_plain);
  EXPECT_EQ(dbeta_folded, dbeta_plain);
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_EQ(g[i], relu_values[i] > 0.0f ? in.dy[i] : 0.0f) << "element " << i;
  // A masked gradient without the ReLU's output is a caller's mistake, said so.
  EXPECT_THROW(cpu::batch_norm_backward_training(
                   shape, in.x.data(), in.dy.data(), in.gamma.data(), mean.data(), invstd.data(),
                   dx_folded.data(), dgamma_folded.data(), dbeta_folded.data(), nullptr, g.data()),
               Error);
}

}  // namespace
}  // namespace sombrero::kernels
