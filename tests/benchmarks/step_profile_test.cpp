// The step profile's arithmetic (bench train-step --profile): sums by scope prefix and by
// kernel, per step, and the share no kernel accounts for; and the host-side timing of
// profile_steps on a step that launches nothing.
#include "benchmarks/step_profile.h"

#include <gtest/gtest.h>

#include <sstream>

#include "runtime/error.h"

namespace sombrero::benchmarks {
namespace {

TEST(StepProfile, ScopePrefixCutsThePathToDepthLevels) {
  EXPECT_EQ(scope_prefix("forward/layer3/2/conv1", 2), "forward/layer3");
  EXPECT_EQ(scope_prefix("forward/layer3/2/conv1", 1), "forward");
  EXPECT_EQ(scope_prefix("forward/layer3/2/conv1", 9), "forward/layer3/2/conv1");
  EXPECT_EQ(scope_prefix("loss", 2), "loss");
  EXPECT_EQ(scope_prefix("", 2), "");
}

nlohmann::json find_row(const nlohmann::json& rows, const char* key, const std::string& value) {
  for (const nlohmann::json& row : rows)
    if (row.contains(key) && row[key] == value) return row;
  ADD_FAILURE() << "no row with " << key << " = " << value;
  return {};
}

TEST(StepProfile, SumsPerStepByScopeAndByKernel) {
  StepProfile profile;
  profile.steps = 2;
  profile.step_ms = 10.0;
  profile.host_ms = 4.0;
  for (int step = 0; step < 2; ++step) {
    profile.launches.push_back({"(conv)", "a.cu:1", "forward/layer1/0", 1.0});
    profile.launches.push_back({"(conv)", "a.cu:1", "forward/layer1/1", 2.0});
    profile.launches.push_back({"bn", "b.cu:7", "forward/bn1", 0.5});
    profile.launches.push_back({"loss_kernel", "c.cu:3", "loss", 0.25});
  }
  std::ostringstream out;
  Report report("bench train-step --profile");
  print_step_profile(profile, "profile of test", 2, 10, out, report, {{"model", "m"}});
  const nlohmann::json rows = report.to_json()["rows"];

  const nlohmann::json totals = rows[0];
  EXPECT_EQ(totals["bench"], "train-step-profile");
  EXPECT_EQ(totals["model"], "m");
  EXPECT_DOUBLE_EQ(totals["kernel_ms"].get<double>(), 3.75);  // per step
  EXPECT_DOUBLE_EQ(totals["launches_per_step"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(totals["host_issue_ms"].get<double>(), 4.0);

  EXPECT_DOUBLE_EQ(find_row(rows, "scope", "forward/layer1")["ms_per_step"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(find_row(rows, "scope", "forward/bn1")["ms_per_step"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(find_row(rows, "scope", "loss")["launches_per_step"].get<double>(), 1.0);
  // Kernels by expression (outer parentheses dropped) and site, the most expensive first.
  const nlohmann::json conv = find_row(rows, "kernel", "conv @a.cu:1");
  EXPECT_DOUBLE_EQ(conv["ms_per_step"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(conv["launches_per_step"].get<double>(), 2.0);
  EXPECT_EQ(rows[4]["kernel"], "conv @a.cu:1");

  const std::string text = out.str();
  EXPECT_NE(text.find("kernels 3.75 ms (37.5%)"), std::string::npos) << text;
  EXPECT_NE(text.find("no kernel 6.25 ms (62.5%"), std::string::npos) << text;
}

TEST(StepProfile, ProfileStepsTimesTheHostAndWaitsAfterEachStep) {
  int steps = 0, waits = 0;
  const StepProfile profile = profile_steps(
      3, [&] { ++steps; }, [&] { ++waits; });
  EXPECT_EQ(profile.steps, 3);
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(waits, 4);  // once before the first step, then after each
  EXPECT_TRUE(profile.launches.empty());
  EXPECT_GE(profile.step_ms, profile.host_ms);
  EXPECT_THROW(profile_steps(
                   0, [] {}, [] {}),
               Error);
}

}  // namespace
}  // namespace sombrero::benchmarks
