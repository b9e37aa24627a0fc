// `sombrero info`: how this binary was built, the CUDA libraries it sees and the devices
// it can use, or a plain note that the CPU backend will be used.
#include <iomanip>
#include <iostream>

#include "runtime/build_info.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "trainer/cli/args.h"
#include "trainer/cli/command.h"

namespace sombrero::cli {

namespace {

std::string gib(std::size_t bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1ull << 30) << " GiB";
  return out.str();
}

void print_row(const std::string& key, const std::string& value) {
  std::cout << "  " << std::left << std::setw(18) << key << value << "\n";
}

int run_info(const std::vector<std::string>& args) {
  ArgParser parser("sombrero info",
                   "Prints build options, CUDA/cuDNN/cuBLAS/NCCL versions and the CUDA devices\n"
                   "this process can use (memory, SM count), or that the CPU backend will be used.");
  if (!parser.parse(args)) return 0;

  std::cout << "sombrero build\n";
  for (const auto& [key, value] : runtime::build_info()) print_row(key, value);

  const runtime::CudaLibraryVersions versions = runtime::cuda_library_versions();
  if (!versions.runtime.empty()) {
    std::cout << "CUDA libraries\n";
    print_row("CUDA runtime", versions.runtime);
    print_row("CUDA driver", versions.driver);
    print_row("cuBLAS", versions.cublas.empty() ? "-" : versions.cublas);
    print_row("cuDNN", versions.cudnn.empty() ? "not built in" : versions.cudnn);
    print_row("NCCL", versions.nccl.empty() ? "not built in" : versions.nccl);
  }

  const auto devices = runtime::cuda_devices();
  std::cout << "devices\n";
  if (devices.empty()) {
    std::cout << "  no CUDA device: " << runtime::cuda_unavailable_reason()
              << ".\n  sombrero will use the CPU backend.\n";
    return 0;
  }
  for (const auto& d : devices) {
    print_row(str("cuda:", d.index), d.name);
    print_row("  compute", str(d.compute_major, ".", d.compute_minor));
    print_row("  SMs", std::to_string(d.sm_count));
    print_row("  memory", str(gib(d.total_memory), " (", gib(d.free_memory), " free)"));
    print_row("  L2", str(d.l2_bytes / 1024 / 1024, " MiB"));
    print_row("  smem/block", str(d.shared_memory_per_block_optin / 1024, " KiB (opt-in)"));
  }
  return 0;
}

}  // namespace

Command info_command() {
  return {"info", "build options, library versions and CUDA devices", run_info};
}

}  // namespace sombrero::cli
