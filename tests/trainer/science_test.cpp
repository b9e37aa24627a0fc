// The science commands' parts (trainer/science): circular statistics against hand-computed
// values and two independent Rayleigh formulas, the radial profile of synthetic energy maps,
// the kNN and class-mean-angle classifiers on hand-made descriptors (and kNN against a brute
// force over several blocks), the plots and the PNG writer read back by libpng.
#include <gtest/gtest.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numbers>
#include <random>

#include "runtime/error.h"
#include "runtime/tensor.h"
#include "trainer/science/circular_stats.h"
#include "trainer/science/energy_map.h"
#include "trainer/science/memory_classifier.h"
#include "trainer/science/plots.h"
#include "trainer/science/png_writer.h"

namespace sombrero::trainer {
namespace {

constexpr double pi = std::numbers::pi;

double deg(double d) {
  return d * pi / 180.0;
}

TEST(CircularStats, MeanAndResultantLengthByHand) {
  // {0, 90 deg}: sum = (1, 1), mean 45 deg, R = sqrt(2)/2.
  CircularSummary s = circular_summary({0.0, pi / 2});
  EXPECT_EQ(s.n, 2);
  EXPECT_NEAR(s.mean_angle, pi / 4, 1e-12);
  EXPECT_NEAR(s.resultant_length, std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(s.rayleigh_z, 2 * 0.5, 1e-12);
  // {350, 10 deg}: the mean wraps to 0, R = cos 10 deg.
  s = circular_summary({deg(350), deg(10)});
  EXPECT_NEAR(s.mean_angle, 0.0, 1e-12);
  EXPECT_NEAR(s.resultant_length, std::cos(deg(10)), 1e-12);
  // Three equally spaced angles cancel: R = 0 and the Rayleigh p is 1.
  s = circular_summary({0.0, 2 * pi / 3, 4 * pi / 3});
  EXPECT_NEAR(s.resultant_length, 0.0, 1e-12);
  EXPECT_NEAR(s.rayleigh_p, 1.0, 1e-9);
  // Nothing at all.
  s = circular_summary({});
  EXPECT_EQ(s.n, 0);
  EXPECT_EQ(s.rayleigh_p, 1.0);
}

// Mardia & Jupp (2000), sec. 6.3.1: the second-order series of the Rayleigh p-value.
double mardia_jupp_p(double n, double z) {
  return std::exp(-z) *
         (1 + (2 * z - z * z) / (4 * n) -
          (24 * z - 132 * z * z + 76 * z * z * z - 9 * z * z * z * z) / (288 * n * n));
}

TEST(CircularStats, RayleighPValueForTenAngles) {
  // Five angles at 0 and five at 90 deg: C = S = 5, R_n = 5 sqrt 2, R = sqrt(2)/2, mean 45 deg,
  // Z = R_n^2 / n = 5. Zar: p = exp(sqrt(1 + 40 + 4 (100 - 50)) - 21) = exp(sqrt(241) - 21).
  std::vector<double> angles(5, 0.0);
  angles.resize(10, pi / 2);
  const CircularSummary s = circular_summary(angles);
  EXPECT_NEAR(s.mean_angle, pi / 4, 1e-12);
  EXPECT_NEAR(s.resultant_length, std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(s.rayleigh_z, 5.0, 1e-9);
  EXPECT_NEAR(s.rayleigh_p, 0.0041868, 1e-6);  // exp(15.5241747 - 21), by hand
  EXPECT_NEAR(s.rayleigh_p, mardia_jupp_p(10, 5.0), 1e-3);

  // n = 10 with R = 0.5: R_n = 5, Z = 2.5; Zar: exp(sqrt(341) - 21) = exp(-2.5338147) = 0.079356.
  EXPECT_NEAR(rayleigh_p_value(10, 0.5), 0.079356, 1e-5);
  EXPECT_NEAR(rayleigh_p_value(10, 0.5), mardia_jupp_p(10, 2.5), 1e-3);
  // Large n: both tend to exp(-Z).
  EXPECT_NEAR(rayleigh_p_value(100000, std::sqrt(3.0 / 100000)), std::exp(-3.0), 1e-4);
  // Monotone in R; bounded.
  EXPECT_GT(rayleigh_p_value(10, 0.3), rayleigh_p_value(10, 0.6));
  EXPECT_GT(rayleigh_p_value(10, 1.0), 0.0);
  EXPECT_LT(rayleigh_p_value(10, 1.0), 1e-6);
  // A single angle always has R = 1: no evidence against uniformity.
  EXPECT_EQ(circular_summary({1.0}).rayleigh_p, 1.0);
}

TEST(CircularStats, HistogramWrapsAndDistances) {
  // 4 sectors of 90 deg: 10 and 80 -> 0, 100 -> 1, -10 (= 350) -> 3, 360 + 200 -> 2.
  const auto counts = circular_histogram({deg(10), deg(80), deg(100), deg(-10), deg(560)}, 4);
  EXPECT_EQ(counts, (std::vector<std::int64_t>{2, 1, 1, 1}));
  EXPECT_NEAR(circular_distance(deg(350), deg(10)), deg(20), 1e-12);
  EXPECT_NEAR(circular_distance(deg(-170), deg(170)), deg(20), 1e-12);
  EXPECT_NEAR(circular_distance(0, pi), pi, 1e-12);
  EXPECT_NEAR(wrap_angle(-pi / 2), 1.5 * pi, 1e-12);
}

TEST(RadialProfile, ThreeByThreeParaboloidHasKnownRings) {
  // E = r^2 on a 3x3 grid: the centre (r = 0), 4 edge middles (r = 1), 4 corners (r = sqrt 2).
  // With 16 rings of width sqrt(2)/16: r = 1 falls in ring floor(16 / sqrt 2) = 11, the
  // corners in the last ring.
  std::vector<double> map(9);
  for (int h = 0; h < 3; ++h)
    for (int w = 0; w < 3; ++w) map[h * 3 + w] = (h - 1) * (h - 1) + (w - 1) * (w - 1);
  const auto profile = radial_profile(map, 3, 3, 16);
  ASSERT_EQ(profile.size(), 16u);
  for (int b = 0; b < 16; ++b) {
    const auto& bin = profile[std::size_t(b)];
    const std::int64_t expected_sites = b == 0 ? 1 : b == 11 ? 4 : b == 15 ? 4 : 0;
    EXPECT_EQ(bin.sites, expected_sites) << "ring " << b;
    EXPECT_NEAR(bin.mean_energy, b == 11 ? 1.0 : b == 15 ? 2.0 : 0.0, 1e-12) << "ring " << b;
    EXPECT_NEAR(bin.r_high - bin.r_low, std::sqrt(2.0) / 16, 1e-12);
  }
}

TEST(RadialProfile, ParaboloidProfileIncreasesWithinRingBounds) {
  const int n = 64;
  std::vector<double> map(n * n);
  for (int h = 0; h < n; ++h)
    for (int w = 0; w < n; ++w) {
      const double x = centred_coordinate(w, n), y = centred_coordinate(h, n);
      map[h * n + w] = x * x + y * y;
    }
  const auto profile = radial_profile(map, n, n, 16);
  std::int64_t sites = 0;
  double previous = -1;
  for (const RadialBin& bin : profile) {
    ASSERT_GT(bin.sites, 0);
    sites += bin.sites;
    EXPECT_GT(bin.mean_energy, previous);
    EXPECT_GE(bin.mean_energy, bin.r_low * bin.r_low - 1e-12);
    EXPECT_LE(bin.mean_energy, bin.r_high * bin.r_high + 1e-12);
    previous = bin.mean_energy;
  }
  EXPECT_EQ(sites, n * n);
}

TEST(EnergyMap, MeanOverImagesOfSumOfSquares) {
  // Two images of 1x2 sites with 2 channels: E = sum_c A^2 per site, then the mean over images.
  const runtime::Tensor a =
      runtime::Tensor::from_floats(runtime::Shape{2, 1, 2, 2}, {1, 2, 3, 0, 0, 1, 1, 1});
  EnergyMapAccumulator accumulator;
  accumulator.add(a);
  EXPECT_EQ(accumulator.images(), 2);
  EXPECT_EQ(accumulator.height(), 1);
  EXPECT_EQ(accumulator.width(), 2);
  const auto mean = accumulator.mean();
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_NEAR(mean[0], (5.0 + 1.0) / 2, 1e-6);  // (1 + 4) and (0 + 1)
  EXPECT_NEAR(mean[1], (9.0 + 2.0) / 2, 1e-6);  // (9 + 0) and (1 + 1)
}

std::vector<float> unit_rows(const std::vector<std::vector<float>>& rows) {
  std::vector<float> out;
  for (const auto& r : rows) {
    const std::size_t at = out.size();
    out.insert(out.end(), r.begin(), r.end());
    l2_normalize(out.data() + at, static_cast<int>(r.size()));
  }
  return out;
}

TEST(MemoryClassifier, NearestNeighboursVoteAndTies) {
  // Memory on the unit circle: class 0 near 0 deg, class 1 near 90 deg, one class-2 point at 45.
  const std::vector<float> memory = unit_rows({{1, 0}, {1, 0.2f}, {0, 1}, {0.2f, 1}, {1, 1.1f}});
  const std::vector<std::int32_t> labels = {0, 0, 1, 1, 2};
  const std::vector<float> queries = unit_rows({{1, 0.05f}, {0.05f, 1}, {1, 1}, {1, 0.7f}});
  // k = 1: the single nearest.
  EXPECT_EQ(knn_classify(memory.data(), labels.data(), 5, queries.data(), 4, 2, 1, 3),
            (std::vector<std::int32_t>{0, 1, 2, 2}));
  // k = 3: (1, 0.7) at 35 deg sees class 2 (at 47.7 deg), class 0 (11.3), class 0 (0):
  // class 0 wins 2:1 although class 2 is nearest.
  EXPECT_EQ(knn_classify(memory.data(), labels.data(), 5, queries.data() + 6, 1, 2, 3, 3),
            (std::vector<std::int32_t>{0}));
  // k = 2: (1, 1) at 45 deg sees class 2 first, then a class-0 or class-1 point (both 33.7 deg
  // away): a 1:1 tie, which goes to the nearest, class 2.
  EXPECT_EQ(knn_classify(memory.data(), labels.data(), 5, queries.data() + 4, 1, 2, 2, 3),
            (std::vector<std::int32_t>{2}));
  // k larger than the memory: all 5 vote, classes 0 and 1 tie 2:2; the nearest of those to
  // (1, 0.05) is class 0.
  EXPECT_EQ(knn_classify(memory.data(), labels.data(), 5, queries.data(), 1, 2, 50, 3),
            (std::vector<std::int32_t>{0}));
  EXPECT_THROW(knn_classify(memory.data(), labels.data(), 5, queries.data(), 1, 2, 0, 3), Error);
}

TEST(MemoryClassifier, KnnMatchesBruteForceAcrossBlocks) {
  // 5000 memory rows (two 4096-row blocks) and 150 queries (three 64-query blocks), k = 5.
  const int features = 8, classes = 7, k = 5;
  const std::size_t memory_size = 5000, query_count = 150;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> memory(memory_size * features), queries(query_count * features);
  for (float& v : memory) v = normal(rng);
  for (float& v : queries) v = normal(rng);
  for (std::size_t i = 0; i < memory_size; ++i) l2_normalize(&memory[i * features], features);
  for (std::size_t i = 0; i < query_count; ++i) l2_normalize(&queries[i * features], features);
  std::vector<std::int32_t> labels(memory_size);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng() % classes);
  const auto predicted = knn_classify(memory.data(), labels.data(), memory_size, queries.data(),
                                      query_count, features, k, classes);
  for (std::size_t q = 0; q < query_count; ++q) {
    std::vector<std::pair<double, std::size_t>> order;  // (-similarity, index)
    for (std::size_t m = 0; m < memory_size; ++m) {
      double dot = 0;
      for (int f = 0; f < features; ++f)
        dot += double(queries[q * features + f]) * memory[m * features + f];
      order.push_back({-dot, m});
    }
    std::partial_sort(order.begin(), order.begin() + k, order.end());
    std::vector<int> votes(classes, 0);
    for (int i = 0; i < k; ++i) ++votes[labels[order[i].second]];
    const int best = *std::max_element(votes.begin(), votes.end());
    int expected = -1;
    for (int i = 0; i < k && expected < 0; ++i)
      if (votes[labels[order[i].second]] == best) expected = labels[order[i].second];
    EXPECT_EQ(predicted[q], expected) << "query " << q;
  }
}

TEST(MemoryClassifier, NearestClassMeanAngle) {
  // Class 0: {10, 20, 30} deg -> mean 20; class 1: {170, 190} -> mean 180; class 2: no sample.
  const std::vector<double> angles = {deg(10), deg(20), deg(30), deg(170), deg(-170)};
  const std::vector<std::int32_t> labels = {0, 0, 0, 1, 1};
  const auto means = class_angle_summaries(angles, labels, 3);
  ASSERT_EQ(means.size(), 3u);
  EXPECT_NEAR(means[0].mean_angle, deg(20), 1e-12);
  EXPECT_NEAR(std::fabs(means[1].mean_angle), pi, 1e-12);
  EXPECT_EQ(means[2].n, 0);
  EXPECT_EQ(nearest_mean_angle_class(deg(90), means), 0);    // 70 vs 90 deg away
  EXPECT_EQ(nearest_mean_angle_class(deg(110), means), 1);   // 90 vs 70
  EXPECT_EQ(nearest_mean_angle_class(deg(-150), means), 1);  // 170 vs 30, across the wrap
  EXPECT_EQ(nearest_mean_angle_class(deg(-60), means), 0);   // 80 vs 120
  EXPECT_EQ(nearest_mean_angle_class(0.0, std::vector<CircularSummary>(3)), -1);
}

TEST(Plots, PngRoundTripThroughLibpng) {
  RgbImage image(5, 3, 0);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) {
      const std::uint8_t rgb[3] = {std::uint8_t(x * 50), std::uint8_t(y * 100),
                                   std::uint8_t(x * 7 + y * 31)};
      image.set(x, y, rgb);
    }
  const std::string path =
      (std::filesystem::temp_directory_path() / "sombrero_png_writer_test.png").string();
  write_png(path, image);
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  ASSERT_NE(png_image_begin_read_from_file(&png, path.c_str()), 0) << png.message;
  EXPECT_EQ(png.width, 5u);
  EXPECT_EQ(png.height, 3u);
  png.format = PNG_FORMAT_RGB;
  std::vector<std::uint8_t> back(PNG_IMAGE_SIZE(png));
  ASSERT_NE(png_image_finish_read(&png, nullptr, back.data(), 0, nullptr), 0) << png.message;
  EXPECT_EQ(back, image.pixels);
  std::filesystem::remove(path);
  EXPECT_THROW(write_png("/nonexistent-folder/x.png", image), Error);
}

TEST(Plots, HeatMapAndRose) {
  EXPECT_EQ(viridis(0.0), (std::array<std::uint8_t, 3>{68, 1, 84}));
  EXPECT_EQ(viridis(1.0), (std::array<std::uint8_t, 3>{253, 231, 37}));
  // A 2x3 map upscaled by 64 to 128x192; the minimum cell dark, the maximum yellow.
  const RgbImage map = heat_map({0, 1, 2, 3, 4, 5}, 2, 3);
  EXPECT_EQ(map.height, 128);
  EXPECT_EQ(map.width, 192);
  RgbImage copy = map;
  EXPECT_EQ(copy.at(0, 0)[0], 68);
  EXPECT_EQ(copy.at(191, 127)[0], 253);
  EXPECT_EQ(copy.at(63, 63)[0], 68);  // still the first cell
  // A rose with everything in sector 0 (0..90 deg of 4): filled up and right of the centre,
  // white down and left; the red spoke of theta = 180 deg goes left.
  RgbImage rose = polar_rose({10, 0, 0, 0}, pi, 0.5, 1.0, 100);
  EXPECT_EQ(rose.at(60, 40)[0], 33);   // 45 deg up-right: filled
  EXPECT_EQ(rose.at(30, 70)[0], 255);  // down-left: background
  EXPECT_EQ(rose.at(20, 50)[0], 220);  // on the theta spoke
}

}  // namespace
}  // namespace sombrero::trainer
