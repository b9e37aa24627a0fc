// Host side of the normalize kernel (normalize.h): the per-channel scale and shift.
#include "kernels/input/normalize.h"
#include "runtime/error.h"

namespace sombrero::kernels {

NormalizeParams make_normalize_params(int channels, const std::vector<double>& mean,
                                      const std::vector<double>& std) {
  SOMBRERO_CHECK(channels >= 1 && channels <= kNormalizeMaxChannels, "normalize: ", channels,
                 " channels (1 to ", kNormalizeMaxChannels, " supported)");
  const auto per_channel = [&](const std::vector<double>& values, const char* what) {
    SOMBRERO_CHECK(values.size() == 1 || values.size() == static_cast<std::size_t>(channels),
                   "normalize: ", values.size(), " ", what, " values for ", channels,
                   " channels (give one per channel, or one for all)");
  };
  per_channel(mean, "mean");
  per_channel(std, "std");
  NormalizeParams params;
  params.channels = channels;
  for (int c = 0; c < channels; ++c) {
    const double m = mean[mean.size() == 1 ? 0 : static_cast<std::size_t>(c)];
    const double s = std[std.size() == 1 ? 0 : static_cast<std::size_t>(c)];
    SOMBRERO_CHECK(s > 0, "normalize: std must be positive, got ", s);
    params.scale[c] = static_cast<float>(1.0 / (255.0 * s));
    params.shift[c] = static_cast<float>(-m / s);
  }
  return params;
}

}  // namespace sombrero::kernels
