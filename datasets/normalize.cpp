#include "datasets/normalize.h"

#include "runtime/error.h"

namespace sombrero::datasets {

void normalize_to_f32(const std::uint8_t* in, std::size_t elements, int channels,
                      const std::vector<double>& mean, const std::vector<double>& std, float* out) {
  SOMBRERO_CHECK(channels >= 1 && channels <= 4 && elements % channels == 0,
                 "normalize: ", elements, " values are not whole pixels of ", channels,
                 " channels");
  const auto per_channel = [&](const std::vector<double>& values, const char* what) {
    SOMBRERO_CHECK(values.size() == 1 || values.size() == static_cast<std::size_t>(channels),
                   "normalize: ", values.size(), " ", what, " values for ", channels,
                   " channels (give one per channel, or one for all)");
  };
  per_channel(mean, "mean");
  per_channel(std, "std");
  // out = in * scale[c] + shift[c], one multiply-add per value.
  float scale[4];
  float shift[4];
  for (int c = 0; c < channels; ++c) {
    const double m = mean[mean.size() == 1 ? 0 : c];
    const double s = std[std.size() == 1 ? 0 : c];
    SOMBRERO_CHECK(s > 0, "normalize: std must be positive, got ", s);
    scale[c] = static_cast<float>(1.0 / (255.0 * s));
    shift[c] = static_cast<float>(-m / s);
  }
  const auto pixels = static_cast<std::int64_t>(elements / channels);
#pragma omp parallel for schedule(static) if (pixels > 65536)
  for (std::int64_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < channels; ++c) {
      const std::size_t i = static_cast<std::size_t>(p) * channels + c;
      out[i] = static_cast<float>(in[i]) * scale[c] + shift[c];
    }
  }
}

}  // namespace sombrero::datasets
