// `sombrero train CONFIG`: trains the model a run config describes (trainer/training_run.h).
#include <cstdlib>

#include "runtime/error.h"
#include "trainer/cli/args.h"
#include "trainer/cli/command.h"
#include "trainer/training_run.h"

namespace sombrero::cli {

namespace {

int run_train(const std::vector<std::string>& args) {
  ArgParser parser(
      "sombrero train",
      "Trains the model of a run config: data, model, one-hot + U(1) loss, SGD, evaluation,\n"
      "metrics (console, metrics.jsonl, TensorBoard) and checkpoints in the run folder.\n"
      "SIGINT/SIGTERM finish the current step, write a checkpoint and exit 0.\n"
      "Launch on several processes with mpirun or srun (see docs/distributed.md).");
  parser.positional("CONFIG", "run config (YAML), e.g. configs/fashion_mnist.yaml")
      .repeated("--set", "KEY=VALUE", "override a config value, e.g. --set optim.lr=0.05")
      .option("--resume", "CHECKPOINT", "continue exactly from a checkpoint of this run")
      .option("--out", "DIR",
              "run folder (default: runs/<config name>-<time>, or the checkpoint's folder with "
              "--resume)")
      .option("--stop-after", "STEPS",
              "stop after this many optimizer steps, writing a checkpoint, as an interrupt would");
  if (!parser.parse(args)) return 0;
  trainer::TrainOptions options;
  options.config_path = parser.get("CONFIG");
  options.overrides = parser.get_all("--set");
  options.resume = parser.get("--resume");
  options.out = parser.get("--out");
  if (parser.has("--stop-after")) {
    const std::string text = parser.get("--stop-after");
    char* end = nullptr;
    const long long steps = std::strtoll(text.c_str(), &end, 10);
    SOMBRERO_CHECK(*end == '\0' && steps > 0, "--stop-after needs a positive step count, got '",
                   text, "'");
    options.stop_after_steps = steps;
  }
  options.command_line = {"sombrero", "train"};
  options.command_line.insert(options.command_line.end(), args.begin(), args.end());
  return trainer::run_training(options);
}

}  // namespace

Command train_command() {
  return {"train", "train a model from a run config (one-hot + U(1) loss)", run_train};
}

}  // namespace sombrero::cli
