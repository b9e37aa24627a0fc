// compare_checkpoints A B TOLERANCE: exits 0 when every tensor of A exists in B with the
// same shape and max |a - b| <= TOLERANCE * max(1, max |a|); prints the worst tensor.
// Entries under "optimizer." are skipped unless --with-optimizer is given.
#include <cmath>
#include <cstdio>
#include <string>

#include "runtime/error.h"
#include "runtime/safetensors.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: compare_checkpoints A B TOLERANCE [--with-optimizer]\n");
    return 2;
  }
  try {
    const auto a = sombrero::runtime::read_safetensors(argv[1]);
    const auto b = sombrero::runtime::read_safetensors(argv[2]);
    const double tolerance = std::stod(argv[3]);
    const bool optimizer = argc > 4 && std::string(argv[4]) == "--with-optimizer";
    double worst = 0;
    std::string worst_name;
    for (const auto& [name, tensor] : a.tensors) {
      if (!optimizer && name.rfind("optimizer.", 0) == 0) continue;
      if (tensor.dtype == sombrero::runtime::SafetensorsDType::I64) continue;
      const auto it = b.tensors.find(name);
      if (it == b.tensors.end() || it->second.shape != tensor.shape) {
        std::fprintf(stderr, "%s: missing or differently shaped in %s\n", name.c_str(), argv[2]);
        return 1;
      }
      const auto x = tensor.to_floats(), y = it->second.to_floats();
      double scale = 1, diff = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        scale = std::max(scale, std::abs(double(x[i])));
        diff = std::max(diff, std::abs(double(x[i]) - y[i]));
      }
      if (diff / scale > worst) {
        worst = diff / scale;
        worst_name = name;
      }
    }
    std::printf("largest relative difference %.3g (%s), tolerance %.3g\n", worst,
                worst_name.c_str(), tolerance);
    return worst <= tolerance ? 0 : 1;
  } catch (const sombrero::Error& e) {
    std::fprintf(stderr, "compare_checkpoints: %s\n", e.what());
    return 2;
  }
}
