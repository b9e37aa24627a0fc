// `sombrero bench train-step`: end-to-end training throughput of a zoo model on synthetic
// data already on the device: one step = zero_grad, forward, the fused CE (+ U(1)) loss,
// backward, the SGD update, exactly the trainer's step minus the input pipeline. Reported
// per configuration: median ms/step, images/s, peak device memory (the stream-ordered
// pool's high-water mark, comparable to torch.cuda.max_memory_allocated), and the cost of
// the U(1) term as the step-time difference against the one-hot run of the same model.
// tools/bench_pytorch.py measures torchvision's models the same way. With an input function
// (`--data DIR`: the loader decoding and augmenting JPEGs) the same steps show whether the
// input pipeline keeps up.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "benchmarks/bench_report.h"
#include "layers/context.h"

namespace sombrero::benchmarks {

struct TrainStepBenchOptions {
  BenchOptions timing;
  std::vector<std::string> models = {"resnet50", "resnet18"};
  int batch = 0;            // 0: 256 for resnet50 and resnet18, 64 otherwise
  int image_size = 224;     // square RGB inputs, 1000 classes
  layers::Context context;  // device (cuda:i, cpu or simt), precision, conv algo
  std::vector<float> u1_weights = {0.0f, 0.1f};  // 0 = one-hot only
  // The real input pipeline instead of synthetic data on the device: called once per step,
  // returns the step's images on context.device (NHWC, batch x image_size^2 x 3) and fills
  // the labels. The host time spent inside it is reported as the data-wait share.
  std::function<runtime::Tensor(std::vector<std::int32_t>& labels)> input;
  std::string input_name = "synthetic images already on the device";
  // After each model's first configuration, `timing.iters` more steps kernel by kernel
  // (benchmarks/step_profile.h), printed after the throughput table.
  bool profile = false;
};

void bench_train_step(const TrainStepBenchOptions& options, Report& report, std::ostream& out);

}  // namespace sombrero::benchmarks
