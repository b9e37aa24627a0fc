#include "datasets/normalize.h"

#include <cstdint>

#include "kernels/input/normalize.h"
#include "runtime/error.h"

namespace sombrero::datasets {

void normalize_to_f32(const std::uint8_t* in, std::size_t elements, int channels,
                      const std::vector<double>& mean, const std::vector<double>& std, float* out) {
  SOMBRERO_CHECK(channels >= 1 && channels <= 4 && elements % channels == 0,
                 "normalize: ", elements, " values are not whole pixels of ", channels,
                 " channels");
  // out = in * scale[c] + shift[c], one multiply-add per value, with the normalize kernel's
  // scale and shift (and its checks of mean and std).
  const kernels::NormalizeParams params = kernels::make_normalize_params(channels, mean, std);
  const float* scale = params.scale;
  const float* shift = params.shift;
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
