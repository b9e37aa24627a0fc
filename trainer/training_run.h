// `sombrero train`: one data-parallel rank of a training run, top to bottom. The step is
//   batch -> normalise -> forward -> fused CE + U(1) loss -> backward -> all-reduce grads
//   -> SGD update
// with evaluation every train.eval_every epochs, metrics (console, JSONL, TensorBoard) on
// rank 0, checkpoints every checkpoint.every_steps / every_epochs, and a clean stop on
// SIGINT/SIGTERM (finish the step, checkpoint, exit 0).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sombrero::trainer {

struct TrainOptions {
  std::string config_path;
  std::vector<std::string> overrides;  // --set key=value
  std::string resume;                  // checkpoint to continue from
  std::string out;                     // run folder ("" = runs/<config name>-<UTC time>)
  std::vector<std::string> command_line;
  // Stop after this many optimizer steps in this process (0 = run to the end), as if
  // interrupted: writes a checkpoint and returns. For tests of exact resumption.
  std::int64_t stop_after_steps = 0;
};

// Returns the process exit code (0: finished or stopped cleanly).
int run_training(const TrainOptions& options);

}  // namespace sombrero::trainer
