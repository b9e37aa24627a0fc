// BatchNorm2d's training and eval semantics against values computed by hand (PyTorch's
// definitions: biased batch variance to normalise, unbiased variance into the running
// estimate, running = (1 - momentum) running + momentum batch, num_batches_tracked += 1).
#include <gtest/gtest.h>

#include <cmath>

#include "layers/batch_norm2d.h"

namespace sombrero::layers {
namespace {

TEST(BatchNorm2dSemantics, TrainingUsesBatchStatisticsAndUpdatesRunningOnes) {
  BatchNorm2d bn({2, 1e-5f, 0.1f});
  bn.weight().value.copy_from(Tensor::from_floats({2}, {2.0f, 1.0f}));
  bn.bias().value.copy_from(Tensor::from_floats({2}, {0.5f, 0.0f}));
  // Channel 0 sees 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1 sees
  // 10, 10, 10, 14 (mean 11, biased var 3, unbiased 4).
  const Tensor x = Tensor::from_floats({1, 2, 2, 2}, {1, 10, 2, 10, 3, 10, 4, 14});
  Context ctx;
  const std::vector<float> y = bn.forward(ctx, x).to_floats();
  const double inv0 = 1 / std::sqrt(1.25 + 1e-5), inv1 = 1 / std::sqrt(3 + 1e-5);
  const double expected[8] = {0.5 - 2 * 1.5 * inv0, -1 * inv1, 0.5 - 2 * 0.5 * inv0, -1 * inv1,
                              0.5 + 2 * 0.5 * inv0, -1 * inv1, 0.5 + 2 * 1.5 * inv0, 3 * inv1};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y[std::size_t(i)], expected[i], 1e-6) << i;
  EXPECT_NEAR(bn.running_mean().to_floats()[0], 0.25, 1e-7);
  EXPECT_NEAR(bn.running_mean().to_floats()[1], 1.1, 1e-6);
  EXPECT_NEAR(bn.running_var().to_floats()[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
  EXPECT_NEAR(bn.running_var().to_floats()[1], 0.9 + 0.1 * 4.0, 1e-6);
  EXPECT_EQ(bn.num_batches_tracked(), 1);

  // A second batch: channel 0 sees 0, 0, 2, 2 (mean 1, unbiased var 4/3).
  bn.forward(ctx, Tensor::from_floats({1, 2, 2, 2}, {0, 0, 0, 0, 2, 0, 2, 0}));
  EXPECT_NEAR(bn.running_mean().to_floats()[0], 0.9 * 0.25 + 0.1 * 1.0, 1e-6);
  EXPECT_NEAR(bn.running_var().to_floats()[0], 0.9 * (0.9 + 0.1 * 5.0 / 3.0) + 0.1 * 4.0 / 3.0,
              1e-6);
  EXPECT_EQ(bn.num_batches_tracked(), 2);
}

TEST(BatchNorm2dSemantics, EvalUsesRunningStatisticsAndChangesNothing) {
  BatchNorm2d bn({1});
  bn.weight().value.fill(2.0f);
  bn.bias().value.fill(0.5f);
  bn.running_mean().fill(0.325f);
  bn.running_var().fill(1.09f);
  Context ctx;
  ctx.training = false;
  const std::vector<float> y =
      bn.forward(ctx, Tensor::from_floats({1, 1, 2, 1}, {1.0f, -3.0f})).to_floats();
  EXPECT_NEAR(y[0], (1.0 - 0.325) / std::sqrt(1.09 + 1e-5) * 2 + 0.5, 1e-6);
  EXPECT_NEAR(y[1], (-3.0 - 0.325) / std::sqrt(1.09 + 1e-5) * 2 + 0.5, 1e-6);
  EXPECT_FLOAT_EQ(bn.running_mean().to_floats()[0], 0.325f);
  EXPECT_FLOAT_EQ(bn.running_var().to_floats()[0], 1.09f);
  EXPECT_EQ(bn.num_batches_tracked(), 0);
  // A single value per channel is fine in eval mode (no batch statistics).
  EXPECT_NO_THROW(bn.forward(ctx, Tensor::zeros({1, 1, 1, 1})));
}

TEST(BatchNorm2dSemantics, NamesAndInitialValuesAreTorchs) {
  BatchNorm2d bn({3});
  std::vector<std::string> names;
  for (const NamedState& s : bn.named_state("bn1.")) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bn1.weight", "bn1.bias", "bn1.running_mean",
                                             "bn1.running_var", "bn1.num_batches_tracked"}));
  EXPECT_EQ(bn.weight().value.to_floats(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(bn.bias().value.to_floats(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(bn.running_var().to_floats(), (std::vector<float>{1, 1, 1}));
}

}  // namespace
}  // namespace sombrero::layers
