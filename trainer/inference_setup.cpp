#include "trainer/inference_setup.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "layers/weights.h"
#include "layers/zoo.h"
#include "runtime/config/run_config_schema.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"
#include "trainer/execution_context.h"

namespace sombrero::trainer {

InferenceSetup prepare_inference(const InferenceRequest& request) {
  SOMBRERO_CHECK(std::filesystem::exists(request.checkpoint), "checkpoint '", request.checkpoint,
                 "' does not exist");
  const runtime::SafetensorsFile file = runtime::read_safetensors(request.checkpoint);
  std::vector<std::string> overrides = request.overrides;
  if (!request.data_path.empty()) overrides.push_back("data.path=" + request.data_path);
  if (request.batch_size > 0)
    overrides.push_back("data.eval_batch_size=" + std::to_string(request.batch_size));

  InferenceSetup setup;
  if (!request.config_path.empty()) {
    setup.config =
        runtime::load_config(request.config_path, overrides, runtime::run_config_schema());
  } else {
    const auto stored = file.metadata.find("config");
    SOMBRERO_CHECK(stored != file.metadata.end(), "'", request.checkpoint,
                   "' carries no run config (a weights-only file, e.g. exported from "
                   "torchvision): pass --config with the model and data sections");
    setup.config = runtime::parse_config(stored->second, request.checkpoint + " (stored config)",
                                         overrides, runtime::run_config_schema());
  }
  setup.train_set = datasets::make_dataset(setup.config, datasets::Split::train);
  setup.test_set = datasets::make_dataset(setup.config, datasets::Split::test);
  setup.norm = datasets::make_normalization(setup.config);
  const datasets::Transform transform =
      datasets::make_transform(setup.config, datasets::Split::test, *setup.test_set);
  const datasets::ImageShape image = transform.output_shape();
  setup.model = layers::build_model(layers::model_options_from_config(
      setup.config, setup.test_set->num_classes(), image.channels, image.height));
  const auto architecture = file.metadata.find("architecture");
  SOMBRERO_CHECK(
      architecture == file.metadata.end() || architecture->second == setup.model->architecture(),
      "checkpoint '", request.checkpoint, "' holds a ", architecture->second,
      " but the config builds a ", setup.model->architecture());
  layers::load_model_state(*setup.model, file, {{"optimizer."}});
  // A GPU run's checkpoint evaluates anywhere: its train.device cuda falls back to the CPU
  // when there is no device, unless the command line asked for a device (--set).
  const bool device_asked =
      std::any_of(request.overrides.begin(), request.overrides.end(),
                  [](const std::string& o) { return o.rfind("train.device=", 0) == 0; });
  std::string note;
  setup.ctx = execution_context(setup.config, 0, &note, /*cuda_or_cpu=*/!device_asked);
  if (!note.empty()) std::printf("note: %s\n", note.c_str());
  setup.ctx.training = false;
  setup.model->to(setup.ctx.device);
  setup.loss = std::make_unique<losses::CombinedLoss>(
      losses::combined_loss_options_from_config(setup.config, setup.model->num_classes()));
  return setup;
}

std::unique_ptr<datasets::Loader> make_eval_loader(const InferenceSetup& setup,
                                                   datasets::Split split) {
  const auto& dataset = split == datasets::Split::train ? setup.train_set : setup.test_set;
  // Both splits are read like the evaluation set: in order, the eval transform, no dropping.
  datasets::LoaderOptions options =
      datasets::make_loader_options(setup.config, datasets::Split::test, 0, 1);
  return std::make_unique<datasets::Loader>(
      dataset, datasets::make_transform(setup.config, datasets::Split::test, *dataset), options);
}

}  // namespace sombrero::trainer
