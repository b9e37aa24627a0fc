#include "trainer/checkpoint.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>

#include "layers/weights.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"

namespace fs = std::filesystem;

namespace sombrero::trainer {

namespace {

constexpr const char* kFormat = "sombrero-checkpoint-1";
const std::string kMomentumPrefix = "optimizer.momentum.";

std::string step_name(std::int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%09lld", static_cast<long long>(step));
  return name;
}

// Points `link` at `target` atomically: a hard link under a temporary name, renamed over.
void link_atomically(const std::string& target, const std::string& link) {
  const std::string temporary = link + ".tmp";
  std::error_code error;
  fs::remove(temporary, error);
  fs::create_hard_link(target, temporary, error);
  if (error) {  // file systems without hard links: copy instead
    fs::copy_file(target, temporary, fs::copy_options::overwrite_existing, error);
    SOMBRERO_CHECK(!error, "cannot write '", link, "': ", error.message());
  }
  fs::rename(temporary, link);
}

std::int64_t metadata_int(const runtime::SafetensorsFile& file, const std::string& key,
                          const std::string& path) {
  const auto it = file.metadata.find(key);
  SOMBRERO_CHECK(it != file.metadata.end(), "checkpoint '", path, "' has no '", key,
                 "' entry: not a sombrero training checkpoint (a weights-only file can be "
                 "evaluated with `sombrero eval`, not resumed)");
  return std::stoll(it->second);
}

CheckpointState state_from_metadata(const runtime::SafetensorsFile& file, const std::string& path) {
  const auto format = file.metadata.find("format");
  SOMBRERO_CHECK(format != file.metadata.end() && format->second == kFormat, "'", path,
                 "' is not a sombrero training checkpoint (metadata format is '",
                 format == file.metadata.end() ? std::string("missing") : format->second,
                 "', expected ", kFormat, ")");
  CheckpointState state;
  state.step = metadata_int(file, "step", path);
  state.data_position.epoch = metadata_int(file, "data.epoch", path);
  state.data_position.next_batch = metadata_int(file, "data.next_batch", path);
  state.seed = static_cast<std::uint64_t>(metadata_int(file, "seed", path));
  state.best_top1 = std::stod(file.metadata.at("best_top1"));
  state.config_yaml = file.metadata.at("config");
  state.architecture = file.metadata.at("architecture");
  return state;
}

}  // namespace

std::string write_checkpoint(const RunFolder& folder, layers::Model& model, layers::Sgd& sgd,
                             const CheckpointState& state, bool is_best, int keep_last) {
  runtime::SafetensorsFile file;
  file.tensors = layers::model_state_to_safetensors(model);
  for (const auto& [name, buffer] : sgd.momentum_buffers())
    file.tensors[kMomentumPrefix + name] = runtime::SafetensorsTensor::from_tensor(*buffer);
  file.metadata = {{"format", kFormat},
                   {"architecture", state.architecture},
                   {"step", std::to_string(state.step)},
                   {"data.epoch", std::to_string(state.data_position.epoch)},
                   {"data.next_batch", std::to_string(state.data_position.next_batch)},
                   {"seed", std::to_string(state.seed)},
                   {"best_top1", str(state.best_top1)},
                   {"config", state.config_yaml}};
  const std::string path = folder.checkpoint_path(step_name(state.step));
  runtime::write_safetensors(path, file);
  link_atomically(path, folder.checkpoint_path("last"));
  if (is_best) link_atomically(path, folder.checkpoint_path("best"));

  if (keep_last > 0) {
    std::vector<std::string> steps;
    for (const std::string& existing : list_checkpoints(folder))
      if (fs::path(existing).filename().string().rfind("step-", 0) == 0) steps.push_back(existing);
    for (std::size_t i = 0; i + keep_last < steps.size(); ++i) fs::remove(steps[i]);
  }
  return path;
}

CheckpointState peek_checkpoint(const std::string& path) {
  return state_from_metadata(runtime::read_safetensors(path), path);
}

CheckpointState read_checkpoint(const std::string& path, layers::Model& model, layers::Sgd& sgd) {
  const runtime::SafetensorsFile file = runtime::read_safetensors(path);
  CheckpointState state = state_from_metadata(file, path);
  SOMBRERO_CHECK(state.architecture == model.architecture(), "checkpoint '", path, "' holds a ",
                 state.architecture, " but the config builds a ", model.architecture());
  // Check the optimizer entries before touching anything.
  auto buffers = sgd.momentum_buffers();
  for (const auto& [name, buffer] : buffers) {
    const auto it = file.tensors.find(kMomentumPrefix + name);
    SOMBRERO_CHECK(it != file.tensors.end(), "checkpoint '", path, "' lacks the momentum of '",
                   name, "' (was it written with optim.momentum = 0?)");
    SOMBRERO_CHECK(it->second.numel() == buffer->numel(), "checkpoint '", path, "': momentum of '",
                   name, "' has shape ", runtime::shape_text(it->second.shape), ", the model's is ",
                   runtime::to_string(buffer->shape()));
  }
  layers::load_model_state(model, file, {{"optimizer."}});
  for (const auto& [name, buffer] : buffers)
    layers::tensor_from_disk(file.tensors.at(kMomentumPrefix + name), layers::DiskLayout::as_is,
                             *buffer, kMomentumPrefix + name);
  sgd.set_steps_taken(state.step);
  return state;
}

}  // namespace sombrero::trainer
