#include "trainer/science/plots.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "runtime/error.h"
#include "trainer/science/circular_stats.h"

namespace sombrero::trainer {

std::array<std::uint8_t, 3> viridis(double t) {
  static constexpr std::uint8_t table[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                               {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                               {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
  if (!(t > 0.0)) t = 0.0;  // NaN too
  t = std::min(t, 1.0) * 8.0;
  const int i = std::min(static_cast<int>(t), 7);
  const double f = t - i;
  std::array<std::uint8_t, 3> rgb{};
  for (int c = 0; c < 3; ++c)
    rgb[std::size_t(c)] =
        static_cast<std::uint8_t>(std::lround(table[i][c] + f * (table[i + 1][c] - table[i][c])));
  return rgb;
}

RgbImage heat_map(const std::vector<double>& map, int height, int width, int min_side) {
  SOMBRERO_CHECK(height > 0 && width > 0 && map.size() == std::size_t(height) * width,
                 "heat map: ", map.size(), " values for ", height, "x", width);
  const auto [lo, hi] = std::minmax_element(map.begin(), map.end());
  const double range = *hi - *lo;
  const int scale = std::max(1, (min_side + std::min(height, width) - 1) / std::min(height, width));
  RgbImage image(width * scale, height * scale);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const double v = map[std::size_t(y / scale) * width + x / scale];
      const auto rgb = viridis(range > 0 ? (v - *lo) / range : 0.5);
      image.set(x, y, rgb.data());
    }
  return image;
}

namespace {

void spoke(RgbImage& image, double cx, double cy, double angle, double length,
           const std::uint8_t rgb[3]) {
  const int steps = std::max(1, static_cast<int>(4 * length));
  for (int s = 0; s <= steps; ++s) {
    const double r = length * s / steps;
    const int x = static_cast<int>(std::floor(cx + r * std::cos(angle)));
    const int y = static_cast<int>(std::floor(cy - r * std::sin(angle)));
    image.set(x, y, rgb);
    image.set(x + 1, y, rgb);
    image.set(x, y + 1, rgb);
  }
}

}  // namespace

RgbImage polar_rose(const std::vector<std::int64_t>& counts, double class_angle, double mean_angle,
                    double resultant_length, int size) {
  SOMBRERO_CHECK(!counts.empty() && size >= 32, "polar rose: ", counts.size(), " sectors, ", size,
                 " px");
  static constexpr std::uint8_t fill[3] = {33, 144, 141}, circle[3] = {160, 160, 160},
                                axis[3] = {225, 225, 225}, red[3] = {220, 40, 40},
                                black[3] = {0, 0, 0};
  RgbImage image(size, size);
  const double c = size / 2.0, r_max = 0.45 * size;
  const int bins = static_cast<int>(counts.size());
  const double max_count =
      double(std::max<std::int64_t>(1, *std::max_element(counts.begin(), counts.end())));
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double dx = x + 0.5 - c, dy = c - (y + 0.5);
      const double r = std::hypot(dx, dy);
      const double angle = wrap_angle(std::atan2(dy, dx));
      const int b = std::min(bins - 1, static_cast<int>(angle / (2 * std::numbers::pi) * bins));
      const double sector = r_max * std::sqrt(double(counts[std::size_t(b)]) / max_count);
      if (r <= sector)
        image.set(x, y, fill);
      else if (std::fabs(dx) <= 0.5 || std::fabs(dy) <= 0.5)
        image.set(x, y, axis);
      if (std::fabs(r - r_max) < 0.6) image.set(x, y, circle);
    }
  spoke(image, c, c, class_angle, r_max, red);
  spoke(image, c, c, mean_angle, r_max * std::clamp(resultant_length, 0.0, 1.0), black);
  return image;
}

}  // namespace sombrero::trainer
