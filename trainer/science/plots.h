// The pictures of `sombrero analyze`, rasterised by hand into RgbImage (png_writer.h):
// a heat map of an energy map, and a polar rose of a class's angle(z) histogram.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "trainer/science/png_writer.h"

namespace sombrero::trainer {

// The viridis colormap (perceptually uniform, readable in greyscale): t in [0, 1] -> RGB,
// linear between 9 samples of matplotlib's table.
std::array<std::uint8_t, 3> viridis(double t);

// A map [height * width] (row-major, top row first) as a heat map, min -> dark, max -> yellow;
// each cell becomes a square of `scale` pixels, scale the least making both sides >= min_side.
RgbImage heat_map(const std::vector<double>& map, int height, int width, int min_side = 128);

// A polar rose of counts in equal sectors of [0, 2 pi) (sector 0 starts at angle 0, on the
// right; angles grow counter-clockwise, y up): each sector's radius is proportional to
// sqrt(count / max count), so areas are proportional to counts. A grey circle marks the
// largest sector, a red spoke the class angle theta_c, and a black spoke the circular mean,
// as long as the mean resultant length R (a full radius for R = 1).
RgbImage polar_rose(const std::vector<std::int64_t>& counts, double class_angle, double mean_angle,
                    double resultant_length, int size = 256);

}  // namespace sombrero::trainer
