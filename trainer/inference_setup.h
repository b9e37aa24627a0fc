// What `sombrero eval` and the science commands share: a model with the weights of a file,
// the run config it belongs to, and the evaluation data of that config.
//
// The config comes from --config when given, else from the checkpoint's metadata (every
// sombrero checkpoint carries its resolved config). A weights-only file (for example one
// exported from torchvision) needs --config. `overrides` (--set) apply on top, and
// data_path (--data) replaces data.path.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "datasets/loader.h"
#include "datasets/make_dataset.h"
#include "layers/model.h"
#include "losses/combined_loss.h"
#include "runtime/config/config.h"

namespace sombrero::trainer {

struct InferenceRequest {
  std::string checkpoint;
  std::string config_path;  // "" = the checkpoint's own config
  std::vector<std::string> overrides;
  std::string data_path;  // "" = the config's data.path
  int batch_size = 0;     // 0 = the config's eval batch size
};

struct InferenceSetup {
  runtime::Config config;
  std::unique_ptr<layers::Model> model;
  std::shared_ptr<const datasets::Dataset> train_set, test_set;
  datasets::Normalization norm;
  std::unique_ptr<losses::CombinedLoss> loss;
  layers::Context ctx;  // train.device / precision of the config, training off; model is there
};

// Builds the model for the config and the dataset, and loads the checkpoint's weights
// (strict: every model key, ignoring optimizer entries), then moves it to the config's
// train.device (trainer/execution_context.h). Errors name the file and the key.
InferenceSetup prepare_inference(const InferenceRequest& request);

// A loader over a split in dataset order, with the config's evaluation transform.
std::unique_ptr<datasets::Loader> make_eval_loader(const InferenceSetup& setup,
                                                   datasets::Split split);

}  // namespace sombrero::trainer
