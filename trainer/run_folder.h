// The folder a training run writes to: checkpoints, metrics.jsonl, TensorBoard events,
// the resolved config and a short README saying how the run was started.
//
// Checked before any work starts: the folder must be creatable and writable, and a fresh run
// refuses a folder that already holds checkpoints (so a run never overwrites another's
// checkpoints); --resume continues in the folder of its checkpoint unless --out says otherwise.
#pragma once

#include <string>
#include <vector>

namespace sombrero::trainer {

struct RunFolder {
  std::string path;
  std::string checkpoint_path(const std::string& name) const;  // <path>/<name>.safetensors
  std::string file(const std::string& name) const;             // <path>/<name>
};

// Creates (or reuses, when resuming) the run folder. `default_name` is used under runs/ when
// `requested` is empty.
RunFolder prepare_run_folder(const std::string& requested, const std::string& default_name,
                             bool resuming);

// Writes config.yaml (the resolved config) and README.md (command line, time, host, build).
void describe_run(const RunFolder& folder, const std::string& resolved_config_yaml,
                  const std::vector<std::string>& command_line);

// The checkpoints (*.safetensors) in the folder, oldest step first by file name.
std::vector<std::string> list_checkpoints(const RunFolder& folder);

}  // namespace sombrero::trainer
