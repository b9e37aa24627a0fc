// Model weights in and out of safetensors files, torchvision-compatible: the keys are the
// model's state_dict names ("conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked",
// "layer1.0.conv1.weight", "fc.bias"), convolution weights are OIHW on disk (converted from and
// to KRSC in memory), num_batches_tracked is a scalar I64, everything else F32 as in memory.
//
//   save_model_weights(model, "run/weights.safetensors", {{"architecture", "resnet50"}});
//   load_model_weights(model, "resnet50_torchvision.safetensors");  // strict: every key
//
// A checkpoint adds its own entries (optimizer state, ...) to the same file: build the
// entries with model_state_to_safetensors, add yours under a prefix (e.g. "optimizer."), and
// load with LoadStateOptions::ignore_prefixes = {"optimizer."}.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "layers/model.h"
#include "runtime/safetensors.h"

namespace sombrero::layers {

// One tensor in its disk layout (KRSC -> OIHW for DiskLayout::krsc_as_oihw), as F32.
runtime::SafetensorsTensor tensor_to_disk(const Tensor& tensor, DiskLayout layout);
// Copies a disk tensor (F32 or BF16) into `target`, converting the layout; throws naming
// `key` when the shapes do not match.
void tensor_from_disk(const runtime::SafetensorsTensor& stored, DiskLayout layout, Tensor& target,
                      const std::string& key);

// Every parameter and buffer of the model, by state_dict name.
std::map<std::string, runtime::SafetensorsTensor> model_state_to_safetensors(Model& model);

struct LoadStateOptions {
  std::vector<std::string> ignore_prefixes;  // file keys with these prefixes are not the model's
};

// Loads every parameter and buffer. All problems are found before anything is changed and
// reported in one error naming the keys: missing keys, unexpected keys, shape mismatches
// (file shape vs model shape), unsupported dtypes.
void load_model_state(Model& model, const runtime::SafetensorsFile& file,
                      const LoadStateOptions& options = {});

void save_model_weights(Model& model, const std::string& path,
                        const std::map<std::string, std::string>& metadata = {});
void load_model_weights(Model& model, const std::string& path);

}  // namespace sombrero::layers
