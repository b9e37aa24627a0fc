// The class angles theta_c of the U(1) loss (docs/u1.md), computed on the host and copied
// to the device by the caller, so CPU and GPU runs use the same table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sombrero::kernels {

enum class ClassAngles { uniform, random };

// "uniform" | "random"; throws sombrero::Error naming the choices.
ClassAngles parse_class_angles(const std::string& name);

// uniform: theta_c = 2 pi c / C. random: theta_c = 2 pi u_c with u_c the c-th value of a
// Philox uniform fill from `seed` (runtime/philox.h), in [0, 2 pi).
std::vector<float> class_angle_table(ClassAngles kind, int classes, std::uint64_t seed);

}  // namespace sombrero::kernels
