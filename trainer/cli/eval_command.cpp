// `sombrero eval --checkpoint FILE`: accuracy of a checkpoint on its evaluation set.
#include <cstdio>
#include <filesystem>

#include "runtime/communicator.h"
#include "runtime/error.h"
#include "trainer/cli/args.h"
#include "trainer/cli/command.h"
#include "trainer/evaluator.h"
#include "trainer/inference_setup.h"

namespace sombrero::cli {

namespace {

int run_eval(const std::vector<std::string>& args) {
  ArgParser parser(
      "sombrero eval",
      "Evaluates a checkpoint under its config's evaluation protocol (ImageNet: resize 256,\n"
      "center crop 224, mean/std): softmax top-1 and top-5, the angle-readout top-1 of the\n"
      "U(1) phase, per-class accuracy (CSV) and images/s. Works on sombrero checkpoints\n"
      "(their config is stored inside) and on weights-only files such as ones exported from\n"
      "torchvision (pass --config).");
  parser.option("--checkpoint", "FILE", "safetensors checkpoint or weights file (required)")
      .option("--data", "DIR", "dataset root, replacing the config's data.path")
      .option("--config", "FILE", "run config (default: the one stored in the checkpoint)")
      .repeated("--set", "KEY=VALUE", "override a config value")
      .option("--batch", "N", "evaluation batch size (default: the config's)")
      .option("--csv", "FILE",
              "per-class accuracy CSV (default: per_class_eval.csv beside the checkpoint)");
  if (!parser.parse(args)) return 0;
  SOMBRERO_CHECK(parser.has("--checkpoint"),
                 "`sombrero eval` needs --checkpoint FILE (see "
                 "`sombrero eval --help`)");
  trainer::InferenceRequest request;
  request.checkpoint = parser.get("--checkpoint");
  request.config_path = parser.get("--config");
  request.overrides = parser.get_all("--set");
  request.data_path = parser.get("--data");
  if (parser.has("--batch")) request.batch_size = std::stoi(parser.get("--batch"));
  trainer::InferenceSetup setup = trainer::prepare_inference(request);
  auto loader = trainer::make_eval_loader(setup, datasets::Split::test);
  auto comm = runtime::make_single_process_communicator();
  std::printf("evaluating %s (%s) on %zu images...\n", request.checkpoint.c_str(),
              setup.model->architecture().c_str(), setup.test_set->size());
  std::fflush(stdout);
  const trainer::EvalResult r =
      trainer::evaluate(*setup.model, *loader, 0, setup.norm, *setup.loss, *comm, setup.ctx);
  const std::string csv =
      parser.has("--csv")
          ? parser.get("--csv")
          : (std::filesystem::path(request.checkpoint).parent_path() / "per_class_eval.csv")
                .string();
  trainer::write_per_class_csv(r, *setup.test_set, csv);
  std::printf(
      "top-1 %.2f%%  top-5 %.2f%%  angle top-1 %.2f%%  loss %.4f (ce %.4f, u1 %.4f)\n"
      "%lld images, %.0f images/s; per-class accuracy: %s\n",
      100 * r.top1, 100 * r.top5, 100 * r.angle_top1, r.loss, r.ce, r.u1,
      static_cast<long long>(r.samples), r.images_per_second, csv.c_str());
  return 0;
}

}  // namespace

Command eval_command() {
  return {"eval", "evaluate a checkpoint: top-1, top-5, angle top-1, per-class CSV", run_eval};
}

}  // namespace sombrero::cli
