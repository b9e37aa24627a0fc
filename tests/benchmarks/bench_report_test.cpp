// The benchmark report: medians, number formatting, the JSON a run leaves behind, and the
// CPU timing helper's run counts.
#include "benchmarks/bench_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "runtime/error.h"

namespace sombrero::benchmarks {
namespace {

TEST(BenchReport, MedianOfOddAndEvenCounts) {
  EXPECT_EQ(median({3.0, 1.0, 2.0}), 2.0);
  EXPECT_EQ(median({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_EQ(median({7.0}), 7.0);
  EXPECT_THROW(median({}), Error);
}

TEST(BenchReport, FixedPrintsDashForNan) {
  EXPECT_EQ(fixed(1.23456, 2), "1.23");
  EXPECT_EQ(fixed(NAN, 2), "-");
}

TEST(BenchReport, CpuTimingRunsWarmupPlusIters) {
  BenchOptions options;
  options.iters = 4;
  options.warmup = 3;
  int runs = 0;
  const double ms = median_cpu_ms(options, [&] { ++runs; });
  EXPECT_EQ(runs, 7);
  EXPECT_GE(ms, 0.0);
  options.iters = 0;
  EXPECT_THROW(median_cpu_ms(options, [] {}), Error);
}

TEST(BenchReport, JsonHoldsRowsDeviceDateCommitAndCommand) {
  Report report("sombrero bench conv --cpu");
  report.set_device("NVIDIA H100 80GB HBM3");
  report.add({{"bench", "conv"}, {"hand_ms", 1.5}});
  report.add({{"bench", "conv"}, {"hand_ms", NAN}});
  report.note("layer1 forward hand: failed");
  const std::string path = testing::TempDir() + "bench_report_test.json";
  report.write_json(path);
  std::ifstream file(path);
  const nlohmann::json json = nlohmann::json::parse(file);
  EXPECT_EQ(json["command"], "sombrero bench conv --cpu");
  EXPECT_EQ(json["device"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(json["commit"], git_commit());
  // The build's stamp (cmake/GitCommit.cmake): 12 hex digits, "-dirty" for a changed tree.
  EXPECT_THAT(git_commit(), testing::MatchesRegex("unknown|[0-9a-f]{12}(-dirty)?"));
  EXPECT_EQ(json["date"].get<std::string>().size(), std::string("2026-01-31T12:00:00Z").size());
  ASSERT_EQ(json["rows"].size(), 2u);
  EXPECT_EQ(json["rows"][0]["hand_ms"], 1.5);
  EXPECT_TRUE(json["rows"][1]["hand_ms"].is_null());  // NaN: not measured
  EXPECT_EQ(json["notes"][0], "layer1 forward hand: failed");
  EXPECT_THROW(report.write_json("/nonexistent-folder/x.json"), Error);
}

TEST(BenchReport, TablePadsColumnsToTheirWidths) {
  std::ostringstream out;
  Table table(out, "title", {{"a", 4}, {"bb", 3}});
  table.row({"x", "yz"});
  EXPECT_EQ(out.str(), "\ntitle\n   a  bb \n---- --- \n   x  yz \n");
}

}  // namespace
}  // namespace sombrero::benchmarks
