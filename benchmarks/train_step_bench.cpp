#include "benchmarks/train_step_bench.h"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <sstream>

#include "benchmarks/step_profile.h"
#include "kernels/conv/conv2d.h"
#include "kernels/u1loss/class_angles.h"
#include "layers/flat_gradients.h"
#include "layers/sgd.h"
#include "layers/zoo.h"
#include "losses/combined_loss.h"
#include "runtime/config/config.h"
#include "runtime/config/run_config_schema.h"
#include "runtime/error.h"
#include "runtime/generator.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include "runtime/cuda_context.h"
#endif

namespace sombrero::benchmarks {

namespace {

constexpr int kClasses = 1000;

struct StepRig {
  std::unique_ptr<layers::Model> model;
  std::unique_ptr<layers::Sgd> sgd;
  std::unique_ptr<losses::CombinedLoss> loss;
  runtime::Tensor images;
  std::vector<std::int32_t> labels;
  runtime::Tensor gradients;  // every parameter's gradient, back to back (as the trainer's
                              // buckets: zeroed by one fill, not one per tensor)
};

StepRig make_rig(const std::string& name, int batch, int image_size, float u1_weight,
                 const layers::Context& ctx) {
  const runtime::Config config = runtime::parse_config(
      str("model: {name: ", name, ", num_classes: ", kClasses, "}\ndata: {dataset: synthetic}\n"),
      "bench train-step", {}, runtime::run_config_schema());
  StepRig rig;
  rig.model =
      layers::build_model(layers::model_options_from_config(config, kClasses, 3, image_size));
  rig.model->to(ctx.device);
  std::vector<layers::Parameter*> parameters;
  for (const layers::NamedParameter& p : rig.model->parameters()) parameters.push_back(p.parameter);
  rig.gradients = layers::bind_flat_gradients(parameters);
  layers::SgdOptions sgd;  // the ImageNet recipe's optimizer: momentum 0.9, Nesterov, decay
  sgd.momentum = 0.9f;
  sgd.nesterov = true;
  sgd.weight_decay = 5e-5f;
  sgd.no_decay_bn_bias = true;
  rig.sgd = std::make_unique<layers::Sgd>(rig.model->parameters(), sgd);
  losses::CombinedLossOptions loss;
  loss.u1.weight = u1_weight;
  // The one-hot rows are the plain baseline (no angle readout: the bottleneck is never read),
  // so the U(1) cost column is the whole cost of the U(1) term and its readout.
  loss.readout = u1_weight > 0.0f;
  loss.u1.label_smoothing = 0.1f;
  loss.class_angles =
      kernels::class_angle_table(kernels::ClassAngles::uniform, kClasses, /*seed=*/0);
  rig.loss = std::make_unique<losses::CombinedLoss>(loss);
  const runtime::DType dtype =
      ctx.precision == layers::Precision::bf16 ? runtime::DType::bf16 : runtime::DType::f32;
  rig.images = runtime::Tensor::empty({batch, image_size, image_size, 3}, dtype, ctx.device);
  runtime::Generator generator(7);
  rig.images.fill_normal(generator);
  for (int i = 0; i < batch; ++i) rig.labels.push_back((i * 7919) % kClasses);
  return rig;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Replaces the rig's images and labels with the next batch of the input pipeline; returns the
// host seconds spent waiting for it.
double next_input(StepRig& rig, const TrainStepBenchOptions& options) {
  if (!options.input) return 0.0;
  const auto start = std::chrono::steady_clock::now();
  rig.images = options.input(rig.labels);
  return seconds_since(start);
}

void train_step(StepRig& rig, const layers::Context& ctx) {
  namespace kp = runtime::kernel_profiler;  // scopes for --profile; nothing otherwise
  {
    const kp::Scope scope("zero_grad");
    rig.gradients.fill(0.0f);
  }
  const runtime::Tensor logits = rig.model->forward(ctx, rig.images);
  losses::LossOutput out;
  {
    const kp::Scope scope("loss");
    out = rig.loss->compute(
        logits, rig.labels, rig.model->bottleneck(),
        rig.loss->needs_bottleneck_grad() ? &rig.model->bottleneck_grad() : nullptr);
  }
  rig.model->backward(ctx, out.dlogits);
  const kp::Scope scope("sgd");
  rig.sgd->step(0.01f);
}

}  // namespace

void bench_train_step(const TrainStepBenchOptions& options, Report& report, std::ostream& out) {
  const layers::Context& ctx = options.context;
  const bool on_cuda = ctx.device.is_cuda();
  const char* precision = ctx.precision == layers::Precision::bf16 ? "bf16" : "f32";
  Table table(out,
              str("train-step: ", options.image_size, "x", options.image_size, " ",
                  options.input_name, ", ", runtime::to_string(ctx.device), ", ", precision,
                  on_cuda ? str(", conv ", kernels::to_string(ctx.conv_algo)) : std::string(),
                  !ctx.fuse_batch_norm_backward ? ", BatchNorm backward in its own passes"
                  : ctx.recompute_relu_mask     ? ""
                                                : ", fused BatchNorm backward reading the ReLU",
                  ", ", kClasses, " classes, SGD; median of ", options.timing.iters,
                  " steps after ", options.timing.warmup, " warm-up steps"),
              {{"model", 12},
               {"batch", 6},
               {"loss", 16},
               {"ms/step", 10},
               {"images/s", 10},
               {"peak MiB", 9},
               {"U(1) cost", 9},
               {"data wait", 9}});
  if (!on_cuda) table.note("no CUDA device in use: host timings (steady clock), no peak memory");
  std::ostringstream profiles;  // printed after the throughput table
  for (const std::string& name : options.models) {
    const int batch =
        options.batch > 0 ? options.batch : (name == "resnet50" || name == "resnet18" ? 256 : 64);
    double one_hot_ms = 0;
    for (const float weight : options.u1_weights) {
      StepRig rig = make_rig(name, batch, options.image_size, weight, ctx);
      double ms = 0;
      double peak_mib = -1;
      // Host seconds waiting for input over the timed steps only: the warm-up steps also wait
      // for the loader to fill its queue from cold (a batch of JPEGs per worker), which said
      // nothing about the steady state and made up most of the figure on the first H100 runs.
      double wait_seconds = 0;
      int steps = 0, timed_steps = 0;
      const auto step = [&] {
        const double waited = next_input(rig, options);
        if (steps++ >= options.timing.warmup) {
          wait_seconds += waited;
          ++timed_steps;
        }
        train_step(rig, ctx);
      };
#if defined(SOMBRERO_HAVE_CUDA)
      if (on_cuda) {
        runtime::CudaContext& device = runtime::CudaContext::get(ctx.device.index);
        step();  // first step: lazy set-up (cuBLAS, cuDNN plans, pools)
        device.synchronize();
        device.reset_peak_allocated_bytes();
        wait_seconds = 0;  // the timed run's warm-up steps come next
        steps = timed_steps = 0;
        ms = median_cuda_ms(options.timing, device.stream(), step);
        peak_mib = double(device.peak_allocated_bytes()) / (1 << 20);
      }
#endif
      if (!on_cuda) ms = median_cpu_ms(options.timing, step);
      // The share of step time the host spent waiting for input, over the timed steps.
      const double wait_share = timed_steps > 0 ? wait_seconds / timed_steps / (ms / 1e3) : 0.0;
      const double images_per_second = batch / (ms / 1e3);
      if (weight == 0.0f) one_hot_ms = ms;
      const std::string loss = weight == 0.0f ? "one-hot" : str("+ ", weight, " U(1)");
      const double cost = weight != 0.0f && one_hot_ms > 0 ? (ms - one_hot_ms) / one_hot_ms : NAN;
      table.row({name, std::to_string(batch), loss, fixed(ms, 2), fixed(images_per_second, 1),
                 peak_mib >= 0 ? fixed(peak_mib, 0) : "-",
                 std::isnan(cost) ? "-" : fixed(100 * cost, 2) + "%",
                 options.input ? fixed(100 * wait_share, 1) + "%" : "-"});
      nlohmann::json row = {{"bench", "train-step"},
                            {"model", name},
                            {"batch", batch},
                            {"image_size", options.image_size},
                            {"device", runtime::to_string(ctx.device)},
                            {"precision", precision},
                            {"u1_weight", weight},
                            {"bn_backward", !ctx.fuse_batch_norm_backward ? "own"
                                            : ctx.recompute_relu_mask     ? "fused"
                                                                          : "fused-reading-relu"},
                            {"ms_per_step", ms},
                            {"images_per_s", images_per_second}};
      if (peak_mib >= 0) row["peak_mib"] = peak_mib;
      if (!std::isnan(cost)) row["u1_cost"] = cost;
      if (options.input) row["data_wait"] = wait_share;
      row["input"] = options.input_name;
      report.add(row);
      if (options.profile && weight == options.u1_weights.front()) {
        std::function<void()> wait = [] {};
#if defined(SOMBRERO_HAVE_CUDA)
        if (on_cuda) wait = [&] { runtime::CudaContext::get(ctx.device.index).synchronize(); };
#endif
        const StepProfile profile = profile_steps(options.timing.iters, step, wait);
        nlohmann::json base = {{"model", name}, {"batch", batch}, {"u1_weight", weight}};
        print_step_profile(profile,
                           str("profile of ", name, ", batch ", batch, ", ", loss, " (",
                               runtime::to_string(ctx.device), ", ", precision, ")"),
                           /*scope_depth=*/2, /*top=*/20, profiles, report, base);
      }
    }
  }
  out << profiles.str();
}

}  // namespace sombrero::benchmarks
