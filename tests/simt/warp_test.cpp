// Warp shuffles, votes and atomics in the SIMT emulation, against plain loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tests/simt/kernels/test_kernels.h"
#include "tests/simt/schedules.h"

namespace sombrero::simt_test {
namespace {

struct WarpResults {
  std::vector<int> sums, maxima, scans, broadcast, any, all;
  std::vector<unsigned> ballots;
  bool operator==(const WarpResults&) const = default;
};

TEST(SimtWarp, ShufflesAndVotesMatchReference) {
  const int threads = 128;  // 2 blocks of 64 threads, 4 warps
  std::vector<int> x(threads);
  for (int i = 0; i < threads; ++i) x[i] = (i * 37) % 29 - 9 + (i == 70 ? 200 : 0);
  const auto results = under_all_schedules([&] {
    WarpResults r;
    for (auto* v : {&r.sums, &r.maxima, &r.scans, &r.broadcast, &r.any, &r.all})
      v->assign(threads, -12345);
    r.ballots.assign(threads, 0);
    simt::warp_ops(x.data(), threads, r.sums.data(), r.maxima.data(), r.scans.data(),
                   r.broadcast.data(), r.ballots.data(), r.any.data(), r.all.data());
    return r;
  });
  EXPECT_EQ(results[1], results[0]);
  EXPECT_EQ(results[2], results[0]);
  const WarpResults& r = results[0];
  for (int w = 0; w < threads / 32; ++w) {
    const auto begin = x.begin() + w * 32;
    int sum = 0, scan = 0;
    unsigned ballot = 0;
    for (int lane = 0; lane < 32; ++lane) ballot |= (begin[lane] > 0 ? 1u : 0u) << lane;
    const int maximum = *std::max_element(begin, begin + 32);
    for (int lane = 0; lane < 32; ++lane) sum += begin[lane];
    const bool any = std::any_of(begin, begin + 32, [](int v) { return v > 100; });
    for (int lane = 0; lane < 32; ++lane) {
      const int t = w * 32 + lane;
      scan += begin[lane];
      EXPECT_EQ(r.sums[t], sum) << "thread " << t;
      EXPECT_EQ(r.maxima[t], maximum) << "thread " << t;
      EXPECT_EQ(r.scans[t], scan) << "thread " << t;
      EXPECT_EQ(r.broadcast[t], begin[5]) << "thread " << t;
      EXPECT_EQ(r.ballots[t], ballot) << "thread " << t;
      EXPECT_EQ(r.any[t], any ? 1 : 0) << "thread " << t;
      EXPECT_EQ(r.all[t], 1) << "thread " << t;
    }
  }
}

TEST(SimtWarp, HalfWarpMasksAndWidthKeepSegmentsApart) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i + 1);
  std::vector<float> sums(32, 0.0f);
  simt::half_warp_sums(x.data(), sums.data());
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(sums[i], i < 16 ? 136.0f : 392.0f) << "lane " << i;  // 1..16 and 17..32
}

TEST(SimtAtomics, HistogramAndAtomicsMatchReference) {
  const int n = 3001;
  std::vector<int> values(n);
  for (int i = 0; i < n; ++i) values[i] = (i * i + 3 * i) % 64;
  std::vector<unsigned> expected_bins(64, 0);
  float expected_total = 0.0f;
  for (const int v : values) ++expected_bins[v], expected_total += static_cast<float>(v) * 0.5f;
  const int expected_max = *std::max_element(values.begin(), values.end());
  const int expected_min = *std::min_element(values.begin(), values.end());
  for (int i = 0; i < ::sombrero::simt::kTestScheduleCount; ++i) {
    const ::sombrero::simt::ScopedSchedule schedule(::sombrero::simt::test_schedule(i));
    std::vector<unsigned> bins(64, 0);
    float total = 0.0f, max_float = -1.0f;
    int max_value = -1000, min_value = 1000;
    simt::histogram(values.data(), n, bins.data(), &total, &max_value, &min_value, &max_float);
    EXPECT_EQ(bins, expected_bins) << ::sombrero::simt::test_schedule(i).name();
    EXPECT_EQ(total, expected_total);  // halves of small integers: exact in any order
    EXPECT_EQ(max_value, expected_max);
    EXPECT_EQ(min_value, expected_min);
    EXPECT_EQ(max_float, static_cast<float>(expected_max) + 0.25f);
  }
}

TEST(SimtExecutor, ManyBarriersAcrossBlocksAndWarps) {
  const int blocks = 6, threads = 96, barriers = 50;
  std::vector<int> out(blocks, -1);
  simt::barrier_loop(blocks, threads, barriers, out.data());
  EXPECT_EQ(out, std::vector<int>(blocks, barriers));
}

}  // namespace
}  // namespace sombrero::simt_test
