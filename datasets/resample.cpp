#include "datasets/resample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "runtime/error.h"

namespace sombrero::datasets {

namespace {

// For each output position along one axis: the first source pixel and its weights.
struct Taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;  // max_count per output position
  int max_count = 0;
};

Taps compute_taps(int in_size, double start, double length, int out_size, bool antialias) {
  const double scale = length / out_size;
  const double filter_scale = antialias ? std::max(scale, 1.0) : 1.0;
  const double support = filter_scale;  // the triangle's half-width is one pixel, scaled
  Taps taps;
  taps.max_count = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(static_cast<std::size_t>(out_size) * taps.max_count, 0.0f);
  for (int i = 0; i < out_size; ++i) {
    const double center = start + (i + 0.5) * scale;
    int lo = std::max(0, static_cast<int>(std::floor(center - support + 0.5)));
    int hi = std::min(in_size, static_cast<int>(std::floor(center + support + 0.5)));
    hi = std::min(hi, lo + taps.max_count);
    float* w = &taps.weights[static_cast<std::size_t>(i) * taps.max_count];
    double total = 0;
    for (int x = lo; x < hi; ++x) {
      const double t = std::abs((x + 0.5 - center) / filter_scale);
      const double weight = t < 1.0 ? 1.0 - t : 0.0;
      w[x - lo] = static_cast<float>(weight);
      total += weight;
    }
    if (total <= 0) {  // the centre lies outside the image: take the nearest edge pixel
      lo = std::clamp(static_cast<int>(std::floor(center)), 0, in_size - 1);
      hi = lo + 1;
      std::fill(w, w + taps.max_count, 0.0f);
      w[0] = 1.0f;
      total = 1.0;
    }
    for (int x = 0; x < hi - lo; ++x) w[x] = static_cast<float>(w[x] / total);
    taps.first[i] = lo;
    taps.count[i] = hi - lo;
  }
  return taps;
}

// One source row to out_w output pixels of Channels channels, each output's taps in order.
template <int Channels>
void horizontal_line(const std::uint8_t* in, const Taps& cols, int out_w, float* tmp) {
  for (int x = 0; x < out_w; ++x) {
    const float* w = &cols.weights[static_cast<std::size_t>(x) * cols.max_count];
    const std::uint8_t* px = in + static_cast<std::size_t>(cols.first[x]) * Channels;
    float sum[Channels] = {};
    for (int k = 0; k < cols.count[x]; ++k)
      for (int c = 0; c < Channels; ++c) sum[c] += w[k] * px[k * Channels + c];
    for (int c = 0; c < Channels; ++c) tmp[x * Channels + c] = sum[c];
  }
}

void horizontal_line_any(const std::uint8_t* in, const Taps& cols, int out_w, int channels,
                         float* tmp) {
  for (int x = 0; x < out_w; ++x) {
    const float* w = &cols.weights[static_cast<std::size_t>(x) * cols.max_count];
    const std::uint8_t* px = in + static_cast<std::size_t>(cols.first[x]) * channels;
    for (int c = 0; c < channels; ++c) {
      float sum = 0;
      for (int k = 0; k < cols.count[x]; ++k) sum += w[k] * px[k * channels + c];
      tmp[x * channels + c] = sum;
    }
  }
}

// Moves taps computed in the decoded picture's coordinates into those of the window the
// source holds (image.h), checking that every tap lies inside it.
void shift_into_window(Taps& taps, int window_start, int window_size, const char* axis) {
  for (std::size_t i = 0; i < taps.first.size(); ++i) {
    taps.first[i] -= window_start;
    SOMBRERO_CHECK(taps.first[i] >= 0 && taps.first[i] + taps.count[i] <= window_size,
                   "resample: the decoded window misses ", axis, " the rectangle reads");
  }
}

}  // namespace

void resample_bilinear(const Image& source, const Rect& rect, int out_h, int out_w, bool antialias,
                       std::uint8_t* out) {
  const int in_h = source.shape.height;
  const int in_w = source.shape.width;
  const int channels = source.shape.channels;
  SOMBRERO_CHECK(
      in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0 && rect.width > 0 && rect.height > 0,
      "resample: empty image or rectangle");
  // Taps over the whole decoded picture, so that a window gives the same weights as the
  // whole picture would; then moved into the window.
  Taps cols = compute_taps(source.full_width(), rect.x, rect.width, out_w, antialias);
  Taps rows = compute_taps(source.full_height(), rect.y, rect.height, out_h, antialias);
  shift_into_window(cols, source.window_left, in_w, "columns");
  shift_into_window(rows, source.window_top, in_h, "rows");

  // Source rows the vertical pass reads.
  const int row_lo = rows.first.front();
  int row_hi = row_lo;
  for (int y = 0; y < out_h; ++y) row_hi = std::max(row_hi, rows.first[y] + rows.count[y]);

  // Horizontal pass: rows row_lo .. row_hi - 1 to out_w columns, in float. Each output pixel
  // walks its taps once for all its channels (RGB: three sums side by side).
  const std::size_t line = static_cast<std::size_t>(out_w) * channels;
  std::vector<float> horizontal(static_cast<std::size_t>(row_hi - row_lo) * line);
  for (int sy = row_lo; sy < row_hi; ++sy) {
    const std::uint8_t* in = source.pixels.data() + static_cast<std::size_t>(sy) * in_w * channels;
    float* tmp = horizontal.data() + static_cast<std::size_t>(sy - row_lo) * line;
    if (channels == 3)
      horizontal_line<3>(in, cols, out_w, tmp);
    else if (channels == 1)
      horizontal_line<1>(in, cols, out_w, tmp);
    else
      horizontal_line_any(in, cols, out_w, channels, tmp);
  }
  // Vertical pass, rounded to uint8: a row of sums, one tap row at a time (the inner loop
  // runs along the contiguous row, so the compiler vectorises it; each element still adds
  // its taps in order).
  std::vector<float> sums(line);
  for (int y = 0; y < out_h; ++y) {
    const float* w = &rows.weights[static_cast<std::size_t>(y) * rows.max_count];
    const float* tmp = horizontal.data() + static_cast<std::size_t>(rows.first[y] - row_lo) * line;
    std::fill(sums.begin(), sums.end(), 0.0f);
    for (int k = 0; k < rows.count[y]; ++k) {
      const float weight = w[k];
      const float* tap = tmp + static_cast<std::size_t>(k) * line;
      for (std::size_t i = 0; i < line; ++i) sums[i] += weight * tap[i];
    }
    std::uint8_t* target = out + static_cast<std::size_t>(y) * line;
    for (std::size_t i = 0; i < line; ++i)
      target[i] = static_cast<std::uint8_t>(std::clamp(sums[i] + 0.5f, 0.0f, 255.0f));
  }
}

}  // namespace sombrero::datasets
