// The execution context of a layer call: where it runs, in which mode and precision.
//
//   layers::Context ctx;                 // CPU, training, f32
//   ctx.training = false;                // eval: BatchNorm uses running statistics, nothing cached
//   Tensor logits = model.forward(ctx, images);
//
// Layers read it on every call, so one model can alternate train and eval steps.
#pragma once

#include <string>

#include "kernels/conv/conv2d.h"
#include "runtime/dtype.h"
#include "runtime/stream_fwd.h"

namespace sombrero::runtime {
class Communicator;
}  // namespace sombrero::runtime

namespace sombrero::layers {

enum class Precision { f32, bf16 };
using kernels::ConvAlgo;  // hand | cudnn (kernels/conv/conv2d.h, parse_conv_algo there)

// "f32" | "bf16". A clear error otherwise.
Precision parse_precision(const std::string& text);

struct Context {
  runtime::Device device = runtime::Device::cpu();
  cudaStream_t stream = nullptr;         // CUDA stream of the step; nullptr on the CPU
  bool training = true;                  // caches what backward needs; BatchNorm batch statistics
  Precision precision = Precision::f32;  // activations; master weights are always f32
  ConvAlgo conv_algo = ConvAlgo::hand;   // GPU convolution: hand-written kernels or cuDNN
  // SyncBatchNorm (model.sync_bn): training BatchNorm takes its batch statistics over every
  // rank of this communicator; null (or one rank) keeps them per process.
  runtime::Communicator* batch_norm_sync = nullptr;
  // A BatchNorm's backward sums computed by the convolution that takes its output, in its
  // backward-data epilogue (layers/conv_batch_norm_link.h), where that applies; false: every
  // BatchNorm makes its own pass (the A/B of `sombrero bench train-step --bn-backward own`).
  bool fuse_batch_norm_backward = true;
  // There, for a BatchNorm with its own ReLU (no residual), the epilogue recomputes the ReLU's
  // mask from the BatchNorm's input and forward coefficients instead of reading its output;
  // false: it reads the output (`--bn-backward fused-reading-relu`).
  bool recompute_relu_mask = true;
};

// Throws a clear error when the context asks for something this build cannot run
// (bf16 on the cpu device, whose backend computes in f32; a CUDA device in a build without CUDA).
void check_context_supported(const Context& ctx);

}  // namespace sombrero::layers
