// Normalisation of a uint8 batch to f32 on the CPU, the CPU training path's counterpart of
// the GPU normalize kernel: out = (in / 255 - mean[c]) / std[c], channels last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sombrero::datasets {

// `elements` values (a multiple of `channels`) of NHWC uint8 `in` to f32 `out`. `mean` and
// `std` hold one value per channel, or one value for all channels; in [0, 1] units.
void normalize_to_f32(const std::uint8_t* in, std::size_t elements, int channels,
                      const std::vector<double>& mean, const std::vector<double>& std, float* out);

}  // namespace sombrero::datasets
