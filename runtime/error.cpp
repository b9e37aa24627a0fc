#include "runtime/error.h"

#include <cstring>

namespace sombrero {

[[noreturn]] void throw_error(const std::string& message, const char* file, int line) {
  // Strip the build's absolute prefix so messages read "runtime/tensor.cpp:42".
  const char* shown = file;
  for (const char* floor : {"runtime/", "kernels/", "layers/", "losses/", "datasets/", "trainer/",
                            "benchmarks/", "tests/"}) {
    if (const char* at = std::strstr(file, floor)) {
      shown = at;
      break;
    }
  }
  throw Error(str(message, " (at ", shown, ":", line, ")"));
}

}  // namespace sombrero
