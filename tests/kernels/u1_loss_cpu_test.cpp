// CPU backend of the fused one-hot + U(1) loss and of the energy against the independent
// double reference (tests/kernels/u1_reference.h) and finite differences of it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

#include "kernels/energy/energy.h"
#include "kernels/u1loss/class_angles.h"
#include "kernels/u1loss/u1_loss.h"
#include "runtime/error.h"
#include "tests/kernels/u1_reference.h"

namespace sombrero::kernels {
namespace {

using test::U1Problem;

// A problem with float-representable inputs (so reference and backend see the same numbers).
U1Problem make_problem(int batch, int classes, int height, int width, int channels, int space,
                       double smoothing, unsigned seed, double weight = 0.7) {
  U1Problem p{batch,     classes, height, width, channels, weight, 1e-3,
              smoothing, space,   {},     {},    {},       {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.5f);
  for (int i = 0; i < batch * classes; ++i) p.logits.push_back(normal(rng));
  for (int b = 0; b < batch; ++b) p.labels.push_back(int(rng() % classes));
  // Post-ReLU activation: a quarter exactly zero, the rest positive.
  for (int i = 0; i < batch * height * width * channels; ++i)
    p.activation.push_back(rng() % 4 == 0 ? 0.0f : uniform(rng));
  for (int c = 0; c < classes; ++c) p.angles.push_back(float(2.0 * std::numbers::pi * c / classes));
  return p;
}

struct BackendRun {
  U1LossResult result;
  std::vector<float> dlogits, dactivation, z;
  std::vector<std::int32_t> prediction;
};

BackendRun run_backend(const U1Problem& p, float initial_dactivation = 0.0f) {
  const std::vector<float> logits(p.logits.begin(), p.logits.end());
  const std::vector<float> activation(p.activation.begin(), p.activation.end());
  const std::vector<float> angles(p.angles.begin(), p.angles.end());
  const std::vector<std::int32_t> labels(p.labels.begin(), p.labels.end());
  BackendRun run;
  run.dlogits.assign(logits.size(), -7.0f);  // poisoned: must be overwritten
  run.dactivation.assign(activation.size(), initial_dactivation);
  run.z.assign(2 * p.batch, 0.0f);
  run.prediction.assign(p.batch, -1);
  const U1LossShape shape{p.batch, p.classes, p.height, p.width, p.channels};
  const U1LossConfig config{float(p.weight), float(p.eps), static_cast<U1Space>(p.space),
                            float(p.smoothing)};
  U1LossArgs args;
  args.logits = logits.data();
  args.labels = labels.data();
  args.activation = activation.data();
  args.class_angles = angles.data();
  args.dlogits = run.dlogits.data();
  args.dactivation = run.dactivation.data();
  args.z = run.z.data();
  args.angle_prediction = run.prediction.data();
  run.result = cpu::u1_loss_forward_backward(shape, config, args);
  return run;
}

// Central difference of the reference loss in double; step 1e-5 keeps truncation error
// (~h^2 * L''') and cancellation (~1e-16 / h) both below 1e-9.
double finite_difference(U1Problem p, std::vector<double> U1Problem::*field, std::size_t i) {
  const double h = 1e-5, x = (p.*field)[i];
  (p.*field)[i] = x + h;
  const double up = test::reference_loss(p).loss;
  (p.*field)[i] = x - h;
  const double down = test::reference_loss(p).loss;
  return (up - down) / (2 * h);
}

class U1LossCpu : public testing::TestWithParam<std::tuple<int, double>> {};

TEST_P(U1LossCpu, ForwardMatchesReference) {
  const auto [space, smoothing] = GetParam();
  const U1Problem p = make_problem(3, 5, 4, 3, 6, space, smoothing, 11);
  const BackendRun run = run_backend(p);
  const test::U1Reference ref = test::reference_loss(p);
  // f32 outputs of double sums: relative 1e-6 is a few f32 ulps.
  EXPECT_NEAR(run.result.ce, ref.ce, 1e-6 * std::abs(ref.ce) + 1e-9);
  EXPECT_NEAR(run.result.u1, ref.u1, 1e-6);
  EXPECT_NEAR(run.result.loss, ref.loss, 1e-6 * std::abs(ref.loss) + 1e-9);
  for (int b = 0; b < p.batch; ++b) {
    const std::complex<double> z = test::reference_z(p, b);
    EXPECT_NEAR(run.z[2 * b], z.real(), 1e-6);
    EXPECT_NEAR(run.z[2 * b + 1], z.imag(), 1e-6);
    EXPECT_LE(std::abs(z), 1.0);
  }
}

TEST_P(U1LossCpu, GradientsMatchFiniteDifferences) {
  const auto [space, smoothing] = GetParam();
  const U1Problem p = make_problem(2, 4, 3, 4, 5, space, smoothing, 23);
  const BackendRun run = run_backend(p);
  // The backend's f32 gradients against double finite differences: 1e-5 absolute plus
  // 1e-4 relative covers f32 rounding of terms of size <= 1.
  for (std::size_t i = 0; i < p.logits.size(); ++i) {
    const double fd = finite_difference(p, &U1Problem::logits, i);
    EXPECT_NEAR(run.dlogits[i], fd, 1e-5 + 1e-4 * std::abs(fd)) << "dlogits[" << i << "]";
  }
  for (std::size_t i = 0; i < p.activation.size(); ++i) {
    const double fd = finite_difference(p, &U1Problem::activation, i);
    EXPECT_NEAR(run.dactivation[i], fd, 1e-5 + 1e-4 * std::abs(fd)) << "dactivation[" << i << "]";
  }
}

std::string space_and_smoothing_name(const testing::TestParamInfo<std::tuple<int, double>>& info) {
  static const char* const names[] = {"image", "feature", "joint"};
  return std::string(names[std::get<0>(info.param)]) +
         (std::get<1>(info.param) > 0 ? "_smoothed" : "_onehot");
}

INSTANTIATE_TEST_SUITE_P(SpacesAndSmoothing, U1LossCpu,
                         testing::Combine(testing::Values(0, 1, 2), testing::Values(0.0, 0.1)),
                         space_and_smoothing_name);

TEST(U1LossCpuEdges, GradientOfActivationIsAccumulatedNotOverwritten) {
  const U1Problem p = make_problem(2, 3, 2, 2, 3, 2, 0.0, 5);
  const BackendRun fresh = run_backend(p, 0.0f);
  const BackendRun accumulated = run_backend(p, 0.25f);
  for (std::size_t i = 0; i < fresh.dactivation.size(); ++i)
    EXPECT_FLOAT_EQ(accumulated.dactivation[i], fresh.dactivation[i] + 0.25f);
}

TEST(U1LossCpuEdges, ZeroWeightIsTheOneHotBaselineAndLeavesActivationAlone) {
  U1Problem p = make_problem(2, 3, 2, 2, 3, 2, 0.0, 5, /*weight=*/0.0);
  const std::vector<float> logits(p.logits.begin(), p.logits.end());
  const std::vector<std::int32_t> labels(p.labels.begin(), p.labels.end());
  std::vector<float> dlogits(logits.size());
  U1LossArgs args;  // no activation, no dactivation, no readout: nothing but cross-entropy
  args.logits = logits.data();
  args.labels = labels.data();
  args.dlogits = dlogits.data();
  const U1LossResult r =
      cpu::u1_loss_forward_backward({2, 3, 2, 2, 3}, {0.0f, 1e-3f, U1Space::joint, 0.0f}, args);
  EXPECT_EQ(r.u1, 0.0);
  EXPECT_NEAR(r.loss, test::reference_loss(p).ce, 1e-6);
}

TEST(U1LossCpuEdges, AllZeroActivationGivesFiniteLossAndBoundedGradient) {
  for (int space : {0, 1, 2}) {
    U1Problem p = make_problem(2, 10, 7, 7, 64, space, 0.0, 3, /*weight=*/1.0);
    std::fill(p.activation.begin(), p.activation.end(), 0.0);
    const BackendRun run = run_backend(p);
    EXPECT_TRUE(std::isfinite(run.result.loss));
    EXPECT_DOUBLE_EQ(run.result.u1, 1.0);  // z = 0: L_u1 = 1 exactly
    // docs/u1.md: |dL_u1/dA| <= 1/(eps H W N) at A = 0 (halved in joint), times weight/batch.
    const double bound = 1.0 / (p.eps * 7 * 7 * 64) / p.batch;
    for (float g : run.dactivation) {
      ASSERT_TRUE(std::isfinite(g));
      EXPECT_LE(std::abs(g), bound * (1 + 1e-6));
    }
  }
}

TEST(U1LossCpuEdges, GradientBoundHoldsForLargeActivations) {
  U1Problem p = make_problem(1, 4, 3, 3, 8, 0, 0.0, 9, /*weight=*/1.0);
  for (double& v : p.activation) v *= 1e3;
  const BackendRun run = run_backend(p);
  const double bound = 2.0 / std::sqrt(p.eps * 9) + 2.0 / (p.eps * 9 * 8);
  for (float g : run.dactivation) EXPECT_LE(std::abs(g), bound);
}

TEST(U1LossCpuEdges, SingleSiteHasNoImageMomentButAFeatureMoment) {
  U1Problem p = make_problem(1, 3, 1, 1, 6, 0, 0.0, 4);
  EXPECT_EQ(run_backend(p).z[0], 0.0f);  // x = y = 0 at the only site
  EXPECT_EQ(run_backend(p).z[1], 0.0f);
  p.space = 1;
  const BackendRun run = run_backend(p);
  EXPECT_NEAR(run.z[0], test::reference_z(p, 0).real(), 1e-6);
  EXPECT_NE(run.z[0], 0.0f);
}

TEST(U1LossCpuEdges, OneClassAndManyClassesAndWideChannels) {
  for (const auto& [classes, channels, h] :
       {std::tuple{1, 8, 3}, std::tuple{1000, 16, 2}, std::tuple{10, 2048, 7}}) {
    const U1Problem p = make_problem(1, classes, h, h, channels, 2, 0.1, 13);
    const BackendRun run = run_backend(p);
    const test::U1Reference ref = test::reference_loss(p);
    EXPECT_NEAR(run.result.loss, ref.loss, 1e-5 * std::abs(ref.loss) + 1e-6)
        << classes << " classes, " << channels << " channels";
  }
}

TEST(U1LossCpuEdges, AngleReadoutPicksTheCircularlyNearestClass) {
  const std::vector<float> angles = {0.0f, 1.5f, 3.0f, -2.9f};
  EXPECT_EQ(nearest_class_angle(0.1, angles.data(), 4), 0);
  EXPECT_EQ(nearest_class_angle(2 * std::numbers::pi - 0.1, angles.data(), 4), 0);  // wraps
  EXPECT_EQ(nearest_class_angle(3.2, angles.data(), 4), 3);  // -2.9 is 0.18 away across pi
  EXPECT_EQ(nearest_class_angle(1.4, angles.data(), 4), 1);
  const U1Problem p = make_problem(4, 6, 3, 3, 5, 2, 0.0, 31);
  const BackendRun run = run_backend(p);
  for (int b = 0; b < p.batch; ++b) {
    const double angle = std::arg(test::reference_z(p, b));
    const std::vector<float> table(p.angles.begin(), p.angles.end());
    EXPECT_EQ(run.prediction[b], nearest_class_angle(angle, table.data(), p.classes));
  }
}

TEST(U1LossCpuEdges, RejectsLabelsOutOfRangeNamingTheSample) {
  U1Problem p = make_problem(2, 3, 2, 2, 3, 2, 0.0, 5);
  p.labels[1] = 3;
  try {
    run_backend(p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 3 of sample 1 is outside [0, 3)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_u1_space("imag"), Error);
  EXPECT_EQ(parse_u1_space("feature"), U1Space::feature);
}

TEST(EnergyCpu, ForwardMatchesReferenceAndBackwardMatchesFiniteDifferences) {
  const EnergyShape shape{2, 3, 5, 7};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> a(shape.sites() * shape.channels);
  for (float& v : a) v = uniform(rng);
  std::vector<float> e(shape.sites());
  cpu::energy_forward(shape, a.data(), e.data());
  const std::vector<double> ref = test::reference_energy(std::vector<double>(a.begin(), a.end()),
                                                         int(shape.sites()), shape.channels);
  for (std::size_t i = 0; i < e.size(); ++i) EXPECT_NEAR(e[i], ref[i], 1e-6 * ref[i] + 1e-7);

  // L = sum_i dE_i E_i, so dL/dA = 2 A dE; check against central differences in double.
  std::vector<float> de(shape.sites());
  for (float& v : de) v = uniform(rng);
  std::vector<float> da(a.size(), 1.0f);  // accumulates onto 1
  cpu::energy_backward(shape, a.data(), de.data(), da.data());
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::vector<double> up(a.begin(), a.end()), down(a.begin(), a.end());
    up[i] += 1e-4;
    down[i] -= 1e-4;
    const auto e_up = test::reference_energy(up, int(shape.sites()), shape.channels);
    const auto e_down = test::reference_energy(down, int(shape.sites()), shape.channels);
    double fd = 0;
    for (std::size_t s = 0; s < de.size(); ++s) fd += de[s] * (e_up[s] - e_down[s]) / 2e-4;
    EXPECT_NEAR(da[i] - 1.0f, fd, 1e-5 + 1e-5 * std::abs(fd));
  }
}

}  // namespace
}  // namespace sombrero::kernels

namespace sombrero::kernels {
namespace {

TEST(ClassAngles, UniformIsEvenlySpacedAndRandomIsSeededAndOnTheCircle) {
  const std::vector<float> uniform = class_angle_table(ClassAngles::uniform, 4, 0);
  EXPECT_FLOAT_EQ(uniform[0], 0.0f);
  EXPECT_FLOAT_EQ(uniform[1], float(std::numbers::pi / 2));
  EXPECT_FLOAT_EQ(uniform[3], float(3 * std::numbers::pi / 2));
  const std::vector<float> a = class_angle_table(ClassAngles::random, 1000, 7);
  EXPECT_EQ(a, class_angle_table(ClassAngles::random, 1000, 7));  // same seed, same table
  EXPECT_NE(a, class_angle_table(ClassAngles::random, 1000, 8));
  double sum_cos = 0, sum_sin = 0;
  for (float t : a) {
    EXPECT_GE(t, 0.0f);
    EXPECT_LT(t, float(2 * std::numbers::pi));
    sum_cos += std::cos(t);
    sum_sin += std::sin(t);
  }
  // Uniform on the circle: the mean resultant of 1000 angles has std 1/sqrt(2*1000) per
  // axis; 0.1 is more than 4 standard deviations.
  EXPECT_LT(std::hypot(sum_cos, sum_sin) / 1000, 0.1);
  EXPECT_THROW(parse_class_angles("uniforn"), Error);
}

}  // namespace
}  // namespace sombrero::kernels
