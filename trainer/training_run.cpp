#include "trainer/training_run.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "datasets/make_dataset.h"
#include "kernels/conv/conv2d.h"
#include "layers/lr_schedule.h"
#include "layers/sgd.h"
#include "layers/zoo.h"
#include "losses/combined_loss.h"
#include "runtime/communicator.h"
#include "runtime/config/config.h"
#include "runtime/config/run_config_schema.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "runtime/nvtx.h"
#include "trainer/accuracy.h"
#include "trainer/batch_input.h"
#include "trainer/checkpoint.h"
#include "trainer/device_input.h"
#include "trainer/evaluator.h"
#include "trainer/execution_context.h"
#include "trainer/gradient_buckets.h"
#include "trainer/inference_setup.h"
#include "trainer/metrics/jsonl_writer.h"
#include "trainer/metrics/tensorboard_writer.h"
#include "trainer/progress_line.h"
#include "trainer/replica_check.h"
#include "trainer/stop_signal.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace sombrero::trainer {

namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::unique_ptr<runtime::Communicator> make_communicator(const runtime::DistributedEnv& env,
                                                         const runtime::Config& config,
                                                         bool on_cuda) {
  runtime::NcclOptions options;
  options.bootstrap = runtime::parse_bootstrap(config.get<std::string>("dist.init"));
  options.rendezvous = config.get<std::string>("dist.rendezvous");
  options.timeout_s = config.get<double>("dist.timeout_s");
  return runtime::make_launch_communicator(env, options, on_cuda);  // single, nccl, mpi or tcp
}

// Rank 0's parameters and buffers everywhere: identical starting points, and BatchNorm's
// running statistics (which each rank updates from its own shard) made equal before
// evaluation and checkpoints.
void broadcast_model(layers::Model& model, runtime::Communicator& comm, bool parameters) {
  if (comm.size() == 1) return;
  if (parameters)
    for (auto& p : model.parameters()) comm.broadcast(p.parameter->value, 0);
  for (auto& b : model.buffers()) {
    if (b.tensor) {
      comm.broadcast(*b.tensor, 0);
    } else {
      std::vector<double> value{comm.rank() == 0 ? double(*b.counter) : 0.0};
      comm.all_reduce_sum(value);
      *b.counter = static_cast<std::int64_t>(value[0]);
    }
  }
}

std::string percent(double fraction) {
  return str(std::round(fraction * 10000.0) / 100.0, "%");
}

}  // namespace

int run_training(const TrainOptions& options) {
  StopSignalGuard signals;
  clear_stop_request();
  const runtime::Config config =
      runtime::load_config(options.config_path, options.overrides, runtime::run_config_schema());
  const runtime::DistributedEnv env = runtime::detect_distributed_env();
  const bool resuming = !options.resume.empty();

  // Device, precision and convolution algorithm (trainer/execution_context.h).
  std::string execution_note;
  layers::Context ctx = execution_context(config, env.local_rank, &execution_note);
  auto comm = make_communicator(env, config, ctx.device.is_cuda());
  if (config.get<bool>("model.sync_bn")) ctx.batch_norm_sync = comm.get();
  const bool leader = comm->rank() == 0;

  // Data.
  const auto train_set = datasets::make_dataset(config, datasets::Split::train);
  const auto test_set = datasets::make_dataset(config, datasets::Split::test);
  datasets::Loader train_loader(
      train_set, datasets::make_transform(config, datasets::Split::train, *train_set),
      datasets::make_loader_options(config, datasets::Split::train, comm->rank(), comm->size()));
  datasets::Loader test_loader(
      test_set, datasets::make_transform(config, datasets::Split::test, *test_set),
      datasets::make_loader_options(config, datasets::Split::test, comm->rank(), comm->size()));
  const datasets::Normalization norm = datasets::make_normalization(config);
  const std::int64_t steps_per_epoch = train_loader.batches_per_epoch();
  SOMBRERO_CHECK(steps_per_epoch > 0, "the training set (", train_set->size(),
                 " samples) gives no batch of data.batch_size ", config.get<int>("data.batch_size"),
                 " per epoch; lower data.batch_size or set data.drop_last: false");

  // Model, optimizer, schedule, loss.
  const datasets::ImageShape image = train_loader.image_shape();
  auto model = layers::build_model(layers::model_options_from_config(
      config, train_set->num_classes(), image.channels, image.height));
  model->to(ctx.device);  // before the optimizer, whose state lives beside the parameters
  GradientBuckets gradient_buckets(model->parameters(), config.get<double>("dist.bucket_mb"));
  layers::Sgd sgd(model->parameters(), layers::sgd_options_from_config(config));
  const layers::LrSchedule schedule(
      layers::lr_schedule_options_from_config(config, steps_per_epoch));
  const losses::CombinedLoss loss(
      losses::combined_loss_options_from_config(config, model->num_classes()));
  const kernels::U1LossConfig& u1 = loss.options().u1;
  SOMBRERO_CHECK(model->num_classes() >= train_set->num_classes(), "model.num_classes (",
                 model->num_classes(), ") is smaller than the dataset's ", train_set->num_classes(),
                 " classes");

  // Run folder (rank 0 writes; everyone checks the resume file).
  // Default folder: runs/<config name>-<UTC time>, so a repeated run never meets an old one.
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "-%Y%m%d-%H%M%S", std::gmtime(&now));
  const std::string config_name = fs::path(options.config_path).stem().string() + stamp;
  std::string out = options.out;
  if (out.empty() && resuming) out = fs::path(options.resume).parent_path().string();
  RunFolder folder{out.empty() ? (fs::path("runs") / config_name).string() : out};
  if (leader) folder = prepare_run_folder(out, config_name, resuming);
  comm->barrier();

  CheckpointState state;
  state.seed = static_cast<std::uint64_t>(config.get<std::int64_t>("train.seed"));
  state.config_yaml = config.to_yaml();
  state.architecture = model->architecture();
  if (resuming) {
    const CheckpointState restored = read_checkpoint(options.resume, *model, sgd);
    state.step = restored.step;
    state.data_position = restored.data_position;
    state.best_top1 = restored.best_top1;
    SOMBRERO_CHECK(restored.seed == state.seed, "checkpoint '", options.resume,
                   "' was trained with train.seed ", restored.seed, ", the config says ",
                   state.seed, ": resuming would not continue the same run");
  } else {
    broadcast_model(*model, *comm, /*parameters=*/true);
  }

  const int epochs = config.get<int>("train.epochs");
  const int eval_every = config.get<int>("train.eval_every");
  const int log_every = config.get<int>("train.log_every");
  const int every_steps = config.get<int>("checkpoint.every_steps");
  const int every_epochs = config.get<int>("checkpoint.every_epochs");
  const int keep_last = config.get<int>("checkpoint.keep_last");
  const bool keep_best = config.get<bool>("checkpoint.keep_best");
  const int global_batch = config.get<int>("data.batch_size");

  std::unique_ptr<JsonlWriter> jsonl;
  std::unique_ptr<TensorBoardWriter> tensorboard;
  if (leader) {
    describe_run(folder, state.config_yaml, options.command_line);
    jsonl = std::make_unique<JsonlWriter>(folder.file("metrics.jsonl"));
    tensorboard = std::make_unique<TensorBoardWriter>(folder.path);
    std::printf("sombrero train: %s (%lld parameters, %.1f MFLOP/image), %s\n",
                model->architecture().c_str(), static_cast<long long>(model->parameter_count()),
                model->forward_flops_per_image() / 1e6, describe_execution(ctx).c_str());
    std::printf(
        "  data: %zu train / %zu test images of %dx%dx%d, %d classes; batch %d (%d per "
        "rank x %d, %s), %lld steps/epoch, %d loader threads, %d compute threads\n",
        train_set->size(), test_set->size(), image.height, image.width, image.channels,
        train_set->num_classes(), global_batch, global_batch / comm->size(), comm->size(),
        comm->backend().c_str(), static_cast<long long>(steps_per_epoch), train_loader.workers(),
        omp_get_max_threads());
    if (comm->size() > 1)
      std::printf("  gradients: averaged over %d ranks in %s; BatchNorm statistics %s\n",
                  comm->size(), gradient_buckets.describe().c_str(),
                  ctx.batch_norm_sync != nullptr ? "synchronised (model.sync_bn)" : "per rank");
    std::printf("  loss: CE%s + %g x U(1) (%s, eps %g); lr %g, %s schedule; %d epochs\n",
                u1.label_smoothing > 0 ? str(" (smoothing ", u1.label_smoothing, ")").c_str() : "",
                u1.weight, kernels::to_string(u1.space), u1.eps,
                schedule.lr_at(0) > 0 ? schedule.options().lr : 0.0,
                config.get<std::string>("schedule.kind").c_str(), epochs);
    std::printf("  run folder: %s%s\n", folder.path.c_str(),
                resuming
                    ? str(" (resumed from ", options.resume, " at step ", state.step, ")").c_str()
                    : "");
    if (!execution_note.empty()) std::printf("  note: %s\n", execution_note.c_str());
    if (ctx.device.is_simt())
      std::printf(
          "  note: train.device simt executes every CUDA thread as a CPU fiber: expect it to be "
          "orders of magnitude slower than cpu; it exists to test the GPU code path\n");
    std::fflush(stdout);
  }

  auto save = [&](const datasets::LoaderPosition& position, bool is_best) {
    broadcast_model(*model, *comm, /*parameters=*/false);
    state.data_position = position;
    if (!leader) return std::string();
    SOMBRERO_NVTX_RANGE("checkpoint");
    return write_checkpoint(folder, *model, sgd, state, is_best, keep_last);
  };

  DeviceInputStage input(ctx, norm);  // the training batches' upload (trainer/device_input.h)
  EvalResult last_eval;
  bool evaluated = false;
  std::int64_t steps_this_process = 0;
  for (std::int64_t epoch = state.data_position.epoch; epoch < epochs; ++epoch) {
    const std::int64_t first_batch =
        epoch == state.data_position.epoch ? state.data_position.next_batch : 0;
    input.wait_host_copies();  // nothing is staged here: the last next() returned nullptr
    train_loader.start({epoch, first_batch});
    ProgressLine progress(static_cast<int>(epoch + 1), epochs);
    StepStats stats;
    stats.steps = steps_per_epoch;
    const auto epoch_start = Clock::now();
    double wait_seconds = 0, loss_sum = 0, ce_sum = 0, u1_sum = 0;
    std::int64_t images_seen = 0, top1_hits = 0, batches_seen = 0;
    double window_loss = 0, window_ce = 0, window_u1 = 0;
    int window = 0;

    // Batch k+1 is fetched and its upload started (trainer/device_input.h) once batch k's
    // forward and backward are enqueued, before the optimizer step, so that on a GPU the copy
    // overlaps the backward pass. The loader reuses a batch's host buffer at its next next()
    // or start(), hence wait_host_copies() first. wait_seconds counts only next().
    auto fetch = [&]() {
      input.wait_host_copies();
      const auto wait_start = Clock::now();
      const datasets::Batch* batch = train_loader.next();
      wait_seconds += seconds_between(wait_start, Clock::now());
      if (batch) input.stage(*batch);
    };
    fetch();
    while (input.pending() > 0) {
      SOMBRERO_NVTX_RANGE("train step");
      const double lr = schedule.lr_at(state.step);
      // Batch k: its epoch and index, not the loader's position (already past batch k + 1),
      // say where the data stands after this step.
      const ModelInput batch = input.take();
      const std::vector<std::int32_t>& labels = batch.labels;
      gradient_buckets.zero_grads();  // every parameter's gradient lives in a bucket
      const runtime::Tensor logits = model->forward(ctx, batch.images);
      const losses::LossOutput outcome =
          loss.compute(logits, labels, model->bottleneck(),
                       loss.needs_bottleneck_grad() ? &model->bottleneck_grad() : nullptr);
      SOMBRERO_CHECK(std::isfinite(outcome.mean.loss), "training diverged: the loss is ",
                     outcome.mean.loss, " at step ", state.step, " (epoch ", epoch + 1, ", batch ",
                     batch.index, "; cross-entropy ", outcome.mean.ce, ", U(1) ", outcome.mean.u1,
                     "); lower optim.lr or u1.weight");
      // With several ranks each gradient bucket starts its all-reduce as soon as the backward
      // pass has finished its layers (on NCCL, on a communication stream meanwhile).
      const bool data_parallel = comm->size() > 1;
      model->backward(ctx, outcome.dlogits, [&](layers::Layer& layer) {
        if (data_parallel) gradient_buckets.layer_done(layer, *comm);
      });
      fetch();  // batch k + 1
      if (data_parallel) {
        SOMBRERO_NVTX_RANGE("all-reduce gradients");
        gradient_buckets.finish(*comm);
      }
      const layers::SgdStepStats step_stats = sgd.step(static_cast<float>(lr));
      ++state.step;
      ++steps_this_process;

      ++batches_seen;
      images_seen += batch.size;
      loss_sum += outcome.mean.loss;
      ce_sum += outcome.mean.ce;
      u1_sum += outcome.mean.u1;
      top1_hits += count_hits(logits, labels).top1;
      window_loss += outcome.mean.loss;
      window_ce += outcome.mean.ce;
      window_u1 += outcome.mean.u1;
      ++window;

      const double elapsed = seconds_between(epoch_start, Clock::now());
      stats.step = batch.index + 1;
      stats.images_per_second = elapsed > 0 ? images_seen * comm->size() / elapsed : 0;
      stats.data_wait_share = elapsed > 0 ? wait_seconds / elapsed : 0;
      stats.loss = loss_sum / batches_seen;
      stats.ce = ce_sum / batches_seen;
      stats.u1 = u1_sum / batches_seen;
      stats.lr = lr;
      stats.eta_seconds = elapsed / batches_seen * double(steps_per_epoch - stats.step);
      if (leader) {
        progress.update(stats);
        if (state.step % log_every == 0) {
          jsonl->write({{"kind", "step"},
                        {"step", state.step},
                        {"epoch", epoch + 1},
                        {"loss", window_loss / window},
                        {"ce", window_ce / window},
                        {"u1", window_u1 / window},
                        {"lr", lr},
                        {"grad_norm", step_stats.grad_norm},
                        {"img_per_s", stats.images_per_second},
                        {"data_wait", stats.data_wait_share}});
          tensorboard->add_scalar("train/loss", window_loss / window, state.step);
          tensorboard->add_scalar("train/ce", window_ce / window, state.step);
          tensorboard->add_scalar("train/u1", window_u1 / window, state.step);
          tensorboard->add_scalar("train/lr", lr, state.step);
          tensorboard->add_scalar("train/img_per_s", stats.images_per_second, state.step);
          tensorboard->flush();
          window_loss = window_ce = window_u1 = 0;
          window = 0;
        }
      }

      const bool stop_now = stop_requested() || (options.stop_after_steps > 0 &&
                                                 steps_this_process >= options.stop_after_steps);
      if (stop_now || (every_steps > 0 && state.step % every_steps == 0)) {
        const std::string path = save({batch.epoch, batch.index + 1}, false);
        if (stop_now) {
          if (leader) {
            progress.finish(stats);
            std::printf(
                "stopped at step %lld (epoch %lld, batch %lld): checkpoint %s\n"
                "continue with: sombrero train %s --resume %s\n",
                static_cast<long long>(state.step), static_cast<long long>(epoch + 1),
                static_cast<long long>(batch.index + 1), path.c_str(), options.config_path.c_str(),
                path.c_str());
          }
          return 0;
        }
      }
    }
    if (leader) progress.finish(stats);

    // End of epoch: metrics over ranks, evaluation, checkpoint.
    std::vector<double> totals{double(images_seen), double(top1_hits), loss_sum,
                               double(batches_seen)};
    comm->all_reduce_sum(totals);
    const double train_top1 = totals[0] > 0 ? totals[1] / totals[0] : 0.0;
    const double train_loss = totals[3] > 0 ? totals[2] / totals[3] : 0.0;
    const bool last_epoch = epoch + 1 == epochs;
    const bool eval_now = last_epoch || (eval_every > 0 && (epoch + 1) % eval_every == 0);
    nlohmann::json record = {
        {"kind", "epoch"},          {"epoch", epoch + 1},
        {"step", state.step},       {"train_loss", train_loss},
        {"train_top1", train_top1}, {"seconds", seconds_between(epoch_start, Clock::now())}};
    bool is_best = false;
    if (eval_now) {
      broadcast_model(*model, *comm, /*parameters=*/false);
      SOMBRERO_NVTX_RANGE("evaluate");
      last_eval = evaluate(*model, test_loader, epoch, norm, loss, *comm, ctx);
      evaluated = true;
      is_best = last_eval.top1 > state.best_top1;
      if (is_best) state.best_top1 = last_eval.top1;
      record.update({{"val_top1", last_eval.top1},
                     {"val_top5", last_eval.top5},
                     {"val_angle_top1", last_eval.angle_top1},
                     {"val_loss", last_eval.loss},
                     {"val_ce", last_eval.ce},
                     {"val_u1", last_eval.u1},
                     {"eval_img_per_s", last_eval.images_per_second}});
    }
    if (leader) {
      jsonl->write(record);
      tensorboard->add_scalar("epoch/train_loss", train_loss, epoch + 1);
      tensorboard->add_scalar("epoch/train_top1", train_top1, epoch + 1);
      std::string summary = str("epoch ", epoch + 1, "/", epochs, " done in ",
                                format_duration(seconds_between(epoch_start, Clock::now())),
                                ": train loss ", train_loss, ", top-1 ", percent(train_top1));
      if (eval_now) {
        tensorboard->add_scalar("epoch/val_top1", last_eval.top1, epoch + 1);
        tensorboard->add_scalar("epoch/val_top5", last_eval.top5, epoch + 1);
        tensorboard->add_scalar("epoch/val_angle_top1", last_eval.angle_top1, epoch + 1);
        tensorboard->add_scalar("epoch/val_loss", last_eval.loss, epoch + 1);
        summary +=
            str(" | val top-1 ", percent(last_eval.top1), ", top-5 ", percent(last_eval.top5),
                ", angle top-1 ", percent(last_eval.angle_top1), ", loss ", last_eval.loss);
      }
      tensorboard->flush();
      std::printf("%s\n", summary.c_str());
      std::fflush(stdout);
    }
    if (last_epoch || (every_epochs > 0 && (epoch + 1) % every_epochs == 0))
      save({epoch + 1, 0}, keep_best && is_best);
  }

  if (comm->size() > 1) {
    SOMBRERO_CHECK(replicas_identical(*model, *comm),
                   "data-parallel replicas diverged: the ranks' parameters differ after step ",
                   state.step, " (a rank computed different gradients or updates)");
    if (leader)
      std::printf("replicas: parameters bitwise identical on all %d ranks\n", comm->size());
  }
  if (leader && evaluated) {
    write_per_class_csv(last_eval, *test_set, folder.file("per_class.csv"));
    std::printf(
        "final: val top-1 %s, top-5 %s, angle top-1 %s (%lld test images); best top-1 %s\n"
        "checkpoint: %s\n",
        percent(last_eval.top1).c_str(), percent(last_eval.top5).c_str(),
        percent(last_eval.angle_top1).c_str(), static_cast<long long>(last_eval.samples),
        percent(state.best_top1).c_str(), folder.checkpoint_path("last").c_str());
  } else if (leader) {
    std::printf("nothing to do: the checkpoint is already at the end of train.epochs (%d)\n",
                epochs);
  }
  return 0;
}

}  // namespace sombrero::trainer
