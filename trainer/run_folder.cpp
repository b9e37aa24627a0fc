#include "trainer/run_folder.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "runtime/build_info.h"
#include "runtime/error.h"

namespace fs = std::filesystem;

namespace sombrero::trainer {

std::string RunFolder::checkpoint_path(const std::string& name) const {
  return (fs::path(path) / (name + ".safetensors")).string();
}

std::string RunFolder::file(const std::string& name) const {
  return (fs::path(path) / name).string();
}

std::vector<std::string> list_checkpoints(const RunFolder& folder) {
  std::vector<std::string> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder.path, error))
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors")
      found.push_back(entry.path().string());
  std::sort(found.begin(), found.end());
  return found;
}

RunFolder prepare_run_folder(const std::string& requested, const std::string& default_name,
                             bool resuming) {
  RunFolder folder{requested.empty() ? (fs::path("runs") / default_name).string() : requested};
  std::error_code error;
  fs::create_directories(folder.path, error);
  SOMBRERO_CHECK(!error && fs::is_directory(folder.path), "cannot create the run folder '",
                 folder.path, "': ", error ? error.message() : std::string("not a directory"));
  // Probe writability now rather than at the first checkpoint.
  const std::string probe = folder.file(".write-test." + std::to_string(getpid()));
  {
    std::ofstream out(probe);
    SOMBRERO_CHECK(out.good(), "the run folder '", folder.path,
                   "' is not writable; choose another with --out");
  }
  fs::remove(probe, error);
  if (!resuming) {
    const std::vector<std::string> existing = list_checkpoints(folder);
    SOMBRERO_CHECK(existing.empty(), "the run folder '", folder.path, "' already holds ",
                   existing.size(), " checkpoint(s) (",
                   fs::path(existing.front()).filename().string(),
                   ", ...); continue that run with --resume ", existing.back(),
                   ", or start a new one with --out <another folder>");
  }
  return folder;
}

void describe_run(const RunFolder& folder, const std::string& resolved_config_yaml,
                  const std::vector<std::string>& command_line) {
  {
    std::ofstream out(folder.file("config.yaml"));
    SOMBRERO_CHECK(out.good(), "cannot write ", folder.file("config.yaml"));
    out << "# The resolved configuration of this run (defaults filled in).\n"
        << resolved_config_yaml;
  }
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  std::ofstream out(folder.file("README.md"), std::ios::app);
  SOMBRERO_CHECK(out.good(), "cannot write ", folder.file("README.md"));
  out << "# sombrero run\n\nStarted " << when << " on " << host << " from "
      << fs::current_path().string() << " with:\n\n    ";
  for (const std::string& arg : command_line) out << arg << ' ';
  out << "\n\nBuild:\n\n";
  for (const auto& [key, value] : runtime::build_info())
    out << "- " << key << ": " << value << "\n";
  out << "\nFiles: config.yaml (resolved config), metrics.jsonl (one record per logged step and\n"
         "per epoch), events.out.tfevents.* (TensorBoard scalars), *.safetensors (checkpoints:\n"
         "model, optimizer, schedule, data position, RNG and config), per_class.csv.\n"
         "Continue with: sombrero train config.yaml --resume <checkpoint> --out <this folder>\n\n";
}

}  // namespace sombrero::trainer
