#include "runtime/build_info.h"

#include <omp.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace sombrero::runtime {

namespace {
const char* on_off(bool on) { return on ? "yes" : "no"; }
}  // namespace

std::vector<std::pair<std::string, std::string>> build_info() {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back("version", SOMBRERO_VERSION);
  rows.emplace_back("build type", SOMBRERO_BUILD_TYPE);
#if defined(__clang__)
  rows.emplace_back("host compiler", str("clang ", __clang_major__, ".", __clang_minor__));
#elif defined(__GNUC__)
  rows.emplace_back("host compiler", str("gcc ", __GNUC__, ".", __GNUC_MINOR__));
#endif
#if defined(SOMBRERO_HAVE_CUDA)
  rows.emplace_back("CUDA backend", str("yes (archs ", SOMBRERO_CUDA_ARCHS, ")"));
#else
  rows.emplace_back("CUDA backend", "no (CPU backend and SIMT execution only)");
#endif
#if defined(SOMBRERO_HAVE_CUDNN)
  rows.emplace_back("cuDNN support", "yes");
#else
  rows.emplace_back("cuDNN support", "no");
#endif
#if defined(SOMBRERO_HAVE_NCCL)
  rows.emplace_back("NCCL support", "yes");
#else
  rows.emplace_back("NCCL support", "no");
#endif
#if defined(SOMBRERO_HAVE_MPI)
  rows.emplace_back("MPI support", on_off(true));
#else
  rows.emplace_back("MPI support", on_off(false));
#endif
  rows.emplace_back("OpenMP threads", std::to_string(omp_get_max_threads()));
  rows.emplace_back("nlohmann-json", str(NLOHMANN_JSON_VERSION_MAJOR, ".",
                                         NLOHMANN_JSON_VERSION_MINOR, ".",
                                         NLOHMANN_JSON_VERSION_PATCH));
  return rows;
}

}  // namespace sombrero::runtime
