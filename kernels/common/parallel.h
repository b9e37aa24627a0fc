// OpenMP thresholds of the CPU backends: a parallel region costs microseconds to start (far
// more when the cores are shared), so loops over fewer elements than this run on one thread.
#pragma once

#include <cstdint>

namespace sombrero::kernels {

inline constexpr std::int64_t kParallelMinimum = 1 << 15;

}  // namespace sombrero::kernels
