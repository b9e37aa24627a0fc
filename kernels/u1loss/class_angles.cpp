#include "kernels/u1loss/class_angles.h"

#include <cstdint>
#include <numbers>

#include "runtime/error.h"
#include "runtime/philox.h"

namespace sombrero::kernels {

ClassAngles parse_class_angles(const std::string& name) {
  if (name == "uniform") return ClassAngles::uniform;
  if (name == "random") return ClassAngles::random;
  SOMBRERO_FAIL("u1.targets must be one of uniform, random; got '", name, "'");
}

std::vector<float> class_angle_table(ClassAngles kind, int classes, std::uint64_t seed) {
  SOMBRERO_CHECK(classes > 0, "class angles: the number of classes must be positive, got ",
                 classes);
  std::vector<float> angles(classes);
  if (kind == ClassAngles::uniform) {
    for (int c = 0; c < classes; ++c)
      angles[c] = static_cast<float>(2.0 * std::numbers::pi * c / classes);
    return angles;
  }
  const runtime::PhiloxKey key = runtime::philox_key(seed);
  for (int c = 0; c < classes; c += 4) {
    float unit[4];
    runtime::philox_uniform4(key, static_cast<std::uint64_t>(c / 4), 0.0f, 1.0f, unit);
    for (int j = 0; j < 4 && c + j < classes; ++j)
      angles[c + j] = static_cast<float>(2.0 * std::numbers::pi) * unit[j];
  }
  return angles;
}

}  // namespace sombrero::kernels
