// Training checkpoints: one safetensors file holding everything needed to continue a run
// exactly, readable by PyTorch (the model's tensors are its torchvision state_dict):
//   model            every parameter and buffer under its state_dict name
//   optimizer.momentum.<parameter name>   SGD momentum buffers (KRSC, as in memory)
//   __metadata__     format, the resolved config (YAML), architecture, global step,
//                    optimizer steps, data position (epoch, next batch), seed, best val top-1
// The random state is the seed: shuffles, augmentation and initialisation are functions of
// (seed, epoch, index), so the data position and the seed restore it exactly.
//
// Written atomically (runtime/safetensors.h), as step-<step>.safetensors, with last.safetensors
// (and best.safetensors when the run improves) as hard links to it; only the newest keep_last
// step files are kept. A failing run never removes or overwrites a complete checkpoint.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/loader.h"
#include "layers/model.h"
#include "layers/sgd.h"
#include "trainer/run_folder.h"

namespace sombrero::trainer {

struct CheckpointState {
  std::int64_t step = 0;  // optimizer steps taken
  datasets::LoaderPosition data_position;
  std::uint64_t seed = 0;
  double best_top1 = -1.0;
  std::string config_yaml;
  std::string architecture;
};

// Writes step-<step>.safetensors, links last.safetensors to it, and best.safetensors when
// `is_best`; then removes step files beyond keep_last (0 keeps all). Returns the path.
std::string write_checkpoint(const RunFolder& folder, layers::Model& model, layers::Sgd& sgd,
                             const CheckpointState& state, bool is_best, int keep_last);

// Reads a checkpoint into the model and optimizer (strict: the model must match the file's
// architecture and every key) and returns its state. Errors name the file and the problem,
// before anything in the model is changed.
CheckpointState read_checkpoint(const std::string& path, layers::Model& model, layers::Sgd& sgd);

// Only the metadata (to build the model before loading): config and architecture.
CheckpointState peek_checkpoint(const std::string& path);

}  // namespace sombrero::trainer
