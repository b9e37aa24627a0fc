// A loader batch (uint8 NHWC in host memory) as the model's input tensor, and its labels.
//   cpu:        normalised to f32 NHWC on the CPU (datasets/normalize.h).
//   cuda, simt: the uint8 bytes are copied to the device (a quarter of the f32 bytes) and the
//               normalize kernel (kernels/input/normalize.cu) writes f32 or bf16 there.
// Both compute in * scale[c] + shift[c] with one rounding each, so f32 inputs are bitwise
// equal on every device.
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/loader.h"
#include "datasets/make_dataset.h"
#include "layers/context.h"
#include "runtime/tensor.h"

namespace sombrero::trainer {

// The images on ctx.device in ctx.precision (f32 on the cpu).
runtime::Tensor batch_images(const datasets::Batch& batch, const datasets::Normalization& norm,
                             const layers::Context& ctx = {});
// The same from uint8 NHWC bytes of `shape` that are already where ctx.device computes (host
// memory for cpu and simt, device memory on cuda; there the kernel is ordered on the device's
// context stream, the returned tensor's stream).
runtime::Tensor normalized_images(const std::uint8_t* bytes, const runtime::Shape& shape,
                                  const datasets::Normalization& norm, const layers::Context& ctx);
std::vector<std::int32_t> batch_labels(const datasets::Batch& batch);

}  // namespace sombrero::trainer
