// `sombrero info`: how this binary was built, the CUDA libraries it sees and the devices
// it can use, or a plain note that the CPU backend will be used.
#include <iomanip>
#include <iostream>

#include "layers/zoo.h"
#include "runtime/build_info.h"
#include "runtime/config/run_config_schema.h"
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

// `--model CONFIG`: the network of a run config, layer by layer (no data is read: the
// dataset's class count, channels and image size come from this table or the config).
int print_model(const std::string& path, const std::vector<std::string>& overrides) {
  const runtime::Config config =
      runtime::load_config(path, overrides, runtime::run_config_schema());
  const std::string dataset = config.get<std::string>("data.dataset");
  int classes = 0, channels = 3, size = 0;
  if (dataset == "fashion_mnist" || dataset == "mnist") classes = 10, channels = 1, size = 28;
  if (dataset == "cifar10") classes = 10, size = 32;
  if (dataset == "cifar100") classes = 100, size = 32;
  if (dataset == "imagenet") classes = 1000, size = 224;
  if (config.get<int>("data.image_size") > 0) size = config.get<int>("data.image_size");
  std::cout << layers::build_model(
                   layers::model_options_from_config(config, classes, channels, size))
                   ->summary();
  return 0;
}

int run_info(const std::vector<std::string>& args) {
  ArgParser parser(
      "sombrero info",
      "Prints build options, CUDA/cuDNN/cuBLAS/NCCL versions and the CUDA devices\n"
      "this process can use (memory, SM count), or that the CPU backend will be used.\n"
      "With --model CONFIG: the config's network, layers, output shapes, parameters\n"
      "and forward FLOPs per image.");
  parser.option("--model", "CONFIG", "print the network of a run config instead");
  parser.repeated("--set", "KEY=VALUE", "override a config value (with --model)");
  if (!parser.parse(args)) return 0;
  if (parser.has("--model")) return print_model(parser.get("--model"), parser.get_all("--set"));

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
  // Whether conv.algo: wgmma (Hopper's warpgroup MMA) can run on the current device.
  const std::string no_wgmma = runtime::wgmma_unavailable_reason();
  print_row("wgmma", no_wgmma.empty() ? "available (conv.algo: wgmma)" : no_wgmma);
  return 0;
}

}  // namespace

Command info_command() {
  return {"info", "build options, library versions and CUDA devices", run_info};
}

}  // namespace sombrero::cli
