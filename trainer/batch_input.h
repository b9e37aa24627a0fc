// A loader batch (uint8 NHWC in host memory) as the model's input tensor: normalised to f32
// NHWC (the CPU path; the GPU normalize kernel comes with the CUDA layers), and its labels.
#pragma once

#include <vector>

#include "datasets/loader.h"
#include "datasets/make_dataset.h"
#include "runtime/tensor.h"

namespace sombrero::trainer {

runtime::Tensor batch_images(const datasets::Batch& batch, const datasets::Normalization& norm);
std::vector<std::int32_t> batch_labels(const datasets::Batch& batch);

}  // namespace sombrero::trainer
