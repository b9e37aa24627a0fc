// `sombrero bench [what] [options]`: the kernel benchmarks (benchmarks/), hand-written
// kernels beside cuDNN and the device's copy bandwidth. `what` is conv, energy, loss, memory,
// allreduce, loader or train-step; without it, conv, energy and loss in turn. Without a CUDA
// device it says so and exits 0, except the CPU modes (`bench conv --cpu`, `bench memory
// --simt`, ...).
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "benchmarks/allreduce_bench.h"
#include "benchmarks/benchmarks.h"
#include "benchmarks/train_step_bench.h"
#include "datasets/loader_bench.h"
#include "datasets/make_dataset.h"
#include "runtime/communicator.h"
#include "runtime/config/run_config_schema.h"
#include "runtime/device_info.h"
#include "runtime/distributed_env.h"
#include "runtime/dtype.h"
#include "runtime/error.h"
#include "runtime/text.h"
#include "trainer/batch_input.h"
#include "trainer/cli/args.h"
#include "trainer/cli/command.h"

namespace sombrero::cli {

namespace {

using benchmarks::BenchOptions;
using benchmarks::Report;
using runtime::DType;

struct Subcommand {
  const char* name;
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
    {"conv", "convolution passes of ResNet-50/18, hand-written beside cuDNN (or --cpu)"},
    {"energy", "channel-norm energy forward/backward, GB/s against copy bandwidth"},
    {"loss", "fused one-hot + U(1) loss, GB/s against copy bandwidth and against unfused"},
    {"memory", "BatchNorm, ReLU, add, pooling in GB/s against copy bandwidth and cuDNN's BN"},
    {"allreduce", "the launch's all-reduce (NCCL, or MPI/TCP with --cpu): time, algbw, busbw"},
    {"loader", "decoded + augmented images/s of the input pipeline over a JPEG folder"},
    {"train-step", "end-to-end training images/s and peak memory of resnet50/18, synthetic data"},
};

std::string overview() {
  std::ostringstream out;
  out << "usage: sombrero bench [conv|energy|loss|memory|allreduce|loader|train-step] [options]\n\n"
         "Times sombrero's hand-written kernels beside cuDNN and the device's copy bandwidth\n"
         "on the shapes it trains (CUDA events after warm-up, median of the runs). Without\n"
         "a subcommand, runs conv, energy and loss in turn. Without a CUDA device it says so\n"
         "and exits 0 (`sombrero bench conv --cpu` times the CPU backend instead).\n\n"
         "subcommands:\n";
  for (const Subcommand& s : kSubcommands)
    out << "  " << s.name << std::string(12 - std::string(s.name).size(), ' ') << s.summary << "\n";
  out << "\n`sombrero bench <subcommand> --help` lists its options; docs/benchmarks.md explains "
         "the tables.\n";
  return out.str();
}

int positive(const ArgParser& parser, const std::string& name, int minimum) {
  const std::string text = parser.get(name);
  int value = 0;
  std::size_t used = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SOMBRERO_CHECK(used == text.size() && used > 0 && value >= minimum, name,
                 " must be an integer >= ", minimum, ", got '", text, "'");
  return value;
}

void add_common_options(ArgParser& parser) {
  parser.option("--iters", "N", "timed runs per measurement; the median is reported", "20")
      .option("--warmup", "N", "untimed runs before timing", "5")
      .option("--device", "INDEX", "CUDA device", "0")
      .option("--json", "FILE", "also write every row, with device, date and commit, as JSON");
}

BenchOptions common_options(const ArgParser& parser) {
  BenchOptions options;
  options.iters = positive(parser, "--iters", 1);
  options.warmup = positive(parser, "--warmup", 0);
  options.device = positive(parser, "--device", 0);
  return options;
}

std::vector<DType> precisions(const std::string& text) {
  if (text == "both") return {DType::bf16, DType::f32};
  SOMBRERO_CHECK(text == "bf16" || text == "f32", "--precision must be bf16, f32 or both, got '",
                 text, "'", did_you_mean(text, {"bf16", "f32", "both"}));
  return {runtime::parse_dtype(text)};
}

// Prints the header line; returns false (after saying why) when there is no usable device.
bool start_gpu_run(const BenchOptions& options, Report& report) {
  const auto devices = runtime::cuda_devices();
  if (devices.empty()) {
    std::cout << "no CUDA device: " << runtime::cuda_unavailable_reason()
              << ". Nothing to time on a GPU; `sombrero bench conv --cpu` times the CPU "
                 "backend.\n";
    report.note("no CUDA device: " + runtime::cuda_unavailable_reason());
    return false;
  }
  SOMBRERO_CHECK(options.device < int(devices.size()), "--device ", options.device,
                 " is out of range: ", devices.size(), " CUDA device(s) present");
  const std::string name = devices[std::size_t(options.device)].name;
  report.set_device(name);
  std::cout << "sombrero bench on cuda:" << options.device << " " << name << ", "
            << benchmarks::utc_date() << ", commit " << benchmarks::git_commit() << "\n";
  return true;
}

void finish(const ArgParser& parser, const Report& report) {
  if (parser.has("--json")) {
    report.write_json(parser.get("--json"));
    std::cout << "\nwrote " << parser.get("--json") << "\n";
  }
}

std::string command_line(const std::string& what, const std::vector<std::string>& args) {
  std::string text = what.empty() ? "sombrero bench" : "sombrero bench " + what;
  for (const auto& a : args) text += " " + a;
  return text;
}

int run_conv(const std::vector<std::string>& args) {
  ArgParser parser("sombrero bench conv",
                   "Forward, backward-data and backward-filter of every unique convolution of\n"
                   "ResNet-50 (or ResNet-18) at 224x224: hand-written kernels and cuDNN side by\n"
                   "side, time, TFLOP/s, the ratio hand/cuDNN per shape and its geometric mean\n"
                   "per pass, and the largest difference between the two outputs. With --cpu:\n"
                   "the CPU backend in GFLOP/s against an OpenBLAS sgemm of the same size.");
  add_common_options(parser);
  parser.option("--model", "NAME", "resnet50 or resnet18", "resnet50")
      .option("--batch", "N", "batch size (default 256; 8 with --cpu)")
      .option("--precision", "DTYPE", "bf16 or f32 (GPU; the CPU backend is f32)", "bf16")
      .option("--filter", "TEXT", "only shapes whose name contains TEXT (e.g. layer3)")
      .flag("--cpu", "time the CPU backend instead of the GPU");
  if (!parser.parse(args)) return 0;
  benchmarks::ConvBenchOptions options;
  options.timing = common_options(parser);
  options.model = parser.get("--model");
  SOMBRERO_CHECK(options.model == "resnet50" || options.model == "resnet18",
                 "--model must be resnet50 or resnet18, got '", options.model, "'",
                 did_you_mean(options.model, {"resnet50", "resnet18"}));
  const bool cpu = parser.has("--cpu");
  options.batch = parser.has("--batch") ? positive(parser, "--batch", 1) : cpu ? 8 : 256;
  const std::string precision = parser.get("--precision");
  SOMBRERO_CHECK(precision == "bf16" || precision == "f32",
                 "--precision must be bf16 or f32 for bench conv, got '", precision, "'");
  options.precision = runtime::parse_dtype(precision);
  options.filter = parser.get("--filter");
  Report report(command_line("conv", args));
  if (cpu) {
    std::cout << "sombrero bench conv --cpu, " << benchmarks::utc_date() << ", commit "
              << benchmarks::git_commit() << "\n";
    benchmarks::bench_conv_cpu(options, report, std::cout);
  } else if (start_gpu_run(options.timing, report)) {
    benchmarks::bench_conv(options, report, std::cout);
  }
  finish(parser, report);
  return 0;
}

benchmarks::U1BenchOptions u1_options(const ArgParser& parser) {
  benchmarks::U1BenchOptions options;
  options.timing = common_options(parser);
  options.batch = positive(parser, "--batch", 1);
  options.precisions = precisions(parser.get("--precision"));
  return options;
}

int run_u1(const char* what, const std::vector<std::string>& args) {
  const bool energy = std::string(what) == "energy";
  ArgParser parser(str("sombrero bench ", what),
                   energy
                       ? "Channel-norm energy forward and backward at the ResNet-50 bottleneck\n"
                         "(N x 7 x 7 x 2048) in GB/s, against a device-to-device copy of the\n"
                         "same bytes measured in the same run."
                       : "The fused one-hot + U(1) loss (forward and backward, 1000 classes) at\n"
                         "the ResNet-50 bottleneck (N x 7 x 7 x 2048) in GB/s against copy\n"
                         "bandwidth, and against the same work unfused (CE kernel + energy +\n"
                         "U(1) moments + U(1) gradient), outputs cross-checked.");
  add_common_options(parser);
  parser.option("--batch", "N", "batch size", "256")
      .option("--precision", "DTYPE", "bf16, f32 or both", "both");
  if (!parser.parse(args)) return 0;
  const benchmarks::U1BenchOptions options = u1_options(parser);
  Report report(command_line(what, args));
  if (start_gpu_run(options.timing, report)) {
    if (energy)
      benchmarks::bench_energy(options, report, std::cout);
    else
      benchmarks::bench_loss(options, report, std::cout);
  }
  finish(parser, report);
  return 0;
}

int run_memory(const std::vector<std::string>& args) {
  ArgParser parser(
      "sombrero bench memory",
      "The memory-bound layer kernels of a ResNet-50 training step on its activation shapes:\n"
      "BatchNorm training forward and backward, ReLU forward and backward, add and\n"
      "add_inplace, 3x3/2 max pool (forward, backward) and global average pool. GB/s of the\n"
      "compulsory bytes and of the kernel's own floor, the fraction of a device-to-device\n"
      "copy of the same bytes, BatchNorm beside cuDNN's on the same NHWC tensor, and every\n"
      "output checked (cuDNN or the CPU backend) before it is timed. --simt: tiny shapes\n"
      "through the SIMT execution on the CPU (CPU-emulation times: a plumbing check).");
  add_common_options(parser);
  parser.option("--batch", "N", "batch size (default 256; 2 with --simt)")
      .option("--precision", "DTYPE", "bf16, f32 or both", "bf16")
      .option("--filter", "TEXT",
              "only rows whose kernel or shape contains TEXT (bn, relu, layer3)")
      .flag("--simt", "the CUDA kernels executed on the CPU, tiny shapes (CPU-emulation times)");
  if (!parser.parse(args)) return 0;
  benchmarks::MemoryBenchOptions options;
  options.timing = common_options(parser);
  options.simt = parser.has("--simt");
  options.batch = parser.has("--batch") ? positive(parser, "--batch", 1) : options.simt ? 2 : 256;
  options.precisions = precisions(parser.get("--precision"));
  options.filter = parser.get("--filter");
  Report report(command_line("memory", args));
  if (options.simt) {
    report.set_device("simt (CPU emulation)");
    std::cout << "sombrero bench memory --simt (the CUDA kernel sources on the CPU; times are "
                 "CPU-emulation times), "
              << benchmarks::utc_date() << ", commit " << benchmarks::git_commit() << "\n";
    benchmarks::bench_memory(options, report, std::cout);
  } else if (start_gpu_run(options.timing, report)) {
    benchmarks::bench_memory(options, report, std::cout);
  } else {
    std::cout << "`sombrero bench memory --simt` runs the kernels (tiny shapes) through the SIMT "
                 "execution on the CPU.\n";
  }
  finish(parser, report);
  return 0;
}

// Run by every rank of a launch (mpirun -np N, srun, or N processes with RANK/WORLD_SIZE);
// rank 0 prints.
int run_allreduce(const std::vector<std::string>& args) {
  ArgParser parser("sombrero bench allreduce",
                   "The all-reduce of this launch's communicator over f32 buffers from --min to\n"
                   "--max bytes (doubling): time, algorithm bandwidth (size / time) and bus\n"
                   "bandwidth (algbw * 2(n-1)/n), like nccl-tests. Launch it like training:\n"
                   "mpirun -np N, srun, or N processes with RANK/WORLD_SIZE and --init env-tcp\n"
                   "or env-file. NCCL on the GPU of each rank's local rank; --cpu: MPI under\n"
                   "mpirun, else TCP through rank 0.");
  parser.option("--min", "SIZE", "smallest buffer (4096, 64KB, 1MB, ...)", "1KB")
      .option("--max", "SIZE", "largest buffer", "1GB")
      .option("--iters", "N", "timed runs per size; the median is reported", "20")
      .option("--warmup", "N", "untimed runs before timing", "5")
      .option("--init", "HOW", "mpi, env-file or env-tcp (default: mpi under mpirun, else env-tcp)")
      .option("--rendezvous", "WHERE", "env-tcp: host:port of rank 0; env-file: a shared path")
      .option("--timeout", "S", "seconds without progress before a collective fails", "600")
      .option("--json", "FILE", "also write every row, with device, date and commit, as JSON")
      .flag("--cpu", "CPU buffers (MPI or TCP) instead of NCCL on the GPU");
  if (!parser.parse(args)) return 0;
  benchmarks::AllReduceBenchOptions options;
  options.timing.iters = positive(parser, "--iters", 1);
  options.timing.warmup = positive(parser, "--warmup", 0);
  options.min_bytes = benchmarks::parse_byte_size(parser.get("--min"));
  options.max_bytes = benchmarks::parse_byte_size(parser.get("--max"));
  const runtime::DistributedEnv env = runtime::detect_distributed_env();
  if (env.world_size == 1) {
    std::cout << "sombrero bench allreduce: a single process, nothing to all-reduce. Launch "
                 "several: mpirun -np 2 sombrero bench allreduce --cpu, or processes with "
                 "RANK/WORLD_SIZE and --init env-tcp --rendezvous HOST:PORT.\n";
    return 0;
  }
  const bool cpu = parser.has("--cpu");
  if (!cpu && runtime::cuda_devices().empty()) {
    if (env.rank == 0)
      std::cout << "no CUDA device: " << runtime::cuda_unavailable_reason()
                << ". `sombrero bench allreduce --cpu` times the CPU communicator.\n";
    return 0;
  }
  runtime::NcclOptions dist;
  dist.bootstrap = runtime::parse_bootstrap(parser.has("--init")  ? parser.get("--init")
                                            : env.launched_by_mpi ? "mpi"
                                                                  : "env-tcp");
  dist.rendezvous = parser.get("--rendezvous");
  SOMBRERO_CHECK(dist.bootstrap == runtime::Bootstrap::mpi || !dist.rendezvous.empty(),
                 "processes started without mpirun find rank 0 through --rendezvous: "
                 "HOST:PORT (--init env-tcp) or a shared path (--init env-file)");
  dist.timeout_s = positive(parser, "--timeout", 1);
  options.device = cpu ? runtime::Device::cpu() : runtime::Device::cuda(env.local_rank);
  auto comm = runtime::make_launch_communicator(env, dist, !cpu);
  Report report(command_line("allreduce", args));
  report.set_device(cpu ? "cpu" : runtime::cuda_devices()[std::size_t(env.local_rank)].name);
  if (comm->rank() == 0)
    std::cout << "sombrero bench allreduce, " << comm->size() << " ranks (" << env.source << "), "
              << benchmarks::utc_date() << ", commit " << benchmarks::git_commit() << "\n";
  benchmarks::bench_allreduce(options, *comm, report, std::cout);
  if (comm->rank() == 0) finish(parser, report);
  return 0;
}

int run_all(const std::vector<std::string>& args) {
  ArgParser parser("sombrero bench",
                   "Runs bench conv (ResNet-50, batch 256, bf16), bench energy and bench loss in\n"
                   "turn with the common options.");
  add_common_options(parser);
  if (!parser.parse(args)) return 0;
  const BenchOptions timing = common_options(parser);
  Report report(command_line("", args));
  if (start_gpu_run(timing, report)) {
    benchmarks::ConvBenchOptions conv;
    conv.timing = timing;
    benchmarks::bench_conv(conv, report, std::cout);
    benchmarks::U1BenchOptions u1;
    u1.timing = timing;
    benchmarks::bench_energy(u1, report, std::cout);
    benchmarks::bench_loss(u1, report, std::cout);
  }
  finish(parser, report);
  return 0;
}

// The input pipeline alone: a folder-per-class JPEG tree (ImageNet layout), decoded and
// augmented by the loader's workers as training would, with nothing consuming the batches.
int run_loader(const std::vector<std::string>& args) {
  ArgParser parser(
      "sombrero bench loader",
      "Times the input pipeline: decoded + augmented images/s in total and per worker\n"
      "thread, over a folder of JPEGs in class folders (ImageNet's train/ layout).\n"
      "--generate N first writes N ImageNet-like JPEGs (about 500x375, quality 90)\n"
      "into the folder. tools/bench_loader_pillow.py measures Pillow on the same files.");
  parser.option("--data", "DIR", "folder of class folders of images (required)")
      .option("--generate", "N", "write N benchmark JPEGs into DIR first (when it is empty)")
      .option("--batch", "N", "images per batch", "64")
      .option("--workers", "N", "decoding threads; -1 = cores - 1", "-1")
      .option("--batches", "N", "timed batches (after 2 warm-up batches)", "20")
      .flag("--eval",
            "the evaluation transform (resize 256, center crop 224) instead of "
            "RandomResizedCrop 224 + flip");
  if (!parser.parse(args)) return 0;
  SOMBRERO_CHECK(parser.has("--data"), "`sombrero bench loader` needs --data DIR");
  const std::string dir = parser.get("--data");
  if (parser.has("--generate")) {
    const int count = positive(parser, "--generate", 1);
    std::error_code error;
    const bool empty = !std::filesystem::exists(dir) || std::filesystem::is_empty(dir, error);
    if (empty) {
      std::cout << "writing " << count << " benchmark JPEGs into " << dir << " ..." << std::endl;
      datasets::generate_benchmark_images(dir, count, 10, 0);
    } else {
      std::cout << dir << " is not empty: using its images as they are\n";
    }
  }
  const bool eval = parser.has("--eval");
  const std::string yaml =
      str("model: {name: resnet18}\ndata: {dataset: folder, path: '", dir,
          "', batch_size: ", positive(parser, "--batch", 1), ", workers: ", parser.get("--workers"),
          ", image_size: 224, augment: {random_resized_crop: true}}\n");
  const runtime::Config config =
      runtime::parse_config(yaml, "bench loader", {}, runtime::run_config_schema());
  const auto split = eval ? datasets::Split::test : datasets::Split::train;
  const auto dataset = datasets::make_dataset(config, datasets::Split::train);
  datasets::LoaderOptions options = datasets::make_loader_options(config, split, 0, 1);
  options.pinned = false;
  const datasets::LoaderBenchResult r =
      datasets::bench_loader(dataset, datasets::make_transform(config, split, *dataset), options,
                             positive(parser, "--batches", 1));
  std::cout << "sombrero bench loader: " << dataset->size() << " images in " << dir << ", "
            << (eval ? "resize 256 + center crop 224" : "RandomResizedCrop 224 + flip") << "\n"
            << "  " << r.images << " images in " << r.seconds << " s: " << r.images_per_second()
            << " images/s, " << r.images_per_second_per_worker() << " per worker (" << r.workers
            << " workers), " << r.cpu_ms_per_image() << " ms CPU per image\n";
  return 0;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  for (const char c : text + ",") {
    if (c != ',') {
      item += c;
    } else if (!item.empty()) {
      items.push_back(item);
      item.clear();
    }
  }
  return items;
}

int run_train_step(const std::vector<std::string>& args) {
  ArgParser parser(
      "sombrero bench train-step",
      "End-to-end training steps (forward, fused CE + U(1) loss, backward, SGD) of zoo\n"
      "models on synthetic 224x224 data already on the device: ms/step, images/s, peak\n"
      "device memory, and the U(1) term's cost against one-hot. tools/bench_pytorch.py\n"
      "times torchvision's models the same way for the side-by-side.");
  add_common_options(parser);
  parser.option("--model", "LIST", "comma-separated zoo models", "resnet50,resnet18")
      .option("--batch", "N", "images per step; 0 = 256 for resnet50/18, 64 otherwise", "0")
      .option("--image-size", "N", "square input size", "224")
      .option("--precision", "P", "bf16 or f32", "bf16")
      .option("--algo", "A",
              "convolutions: hand, wgmma (hand on Hopper's wgmma, bf16), cudnn, or auto "
              "(wgmma where it can run, else hand)",
              "auto")
      .option("--u1", "LIST", "comma-separated U(1) weights; 0 = one-hot", "0,0.1")
      .option("--bn-backward", "HOW",
              "fused: BatchNorm backward sums in the next convolution's backward-data "
              "epilogue where it applies (the ReLU's mask recomputed from the BatchNorm's "
              "input); fused-reading-relu: the same, the mask read from the ReLU's output; "
              "own: every BatchNorm's own pass (the A/Bs)",
              "fused")
      .option("--data", "DIR",
              "feed the steps from the input pipeline over a folder of class folders of "
              "JPEGs (RandomResizedCrop + flip) instead of synthetic data on the device")
      .option("--workers", "N", "with --data: decoding threads; -1 = cores - 1", "-1")
      .flag("--cpu", "the CPU backend (f32) instead of a CUDA device")
      .flag("--simt", "the CUDA kernels executed on the CPU (tiny shapes only: very slow)")
      .flag("--profile",
            "after each model's first configuration, --iters more steps kernel by kernel: "
            "time by scope (forward/layer3, loss, sgd, ...), the most expensive kernels, and "
            "the share of the step no kernel accounts for");
  if (!parser.parse(args)) return 0;
  benchmarks::TrainStepBenchOptions options;
  options.profile = parser.has("--profile");
  options.timing = common_options(parser);
  options.models = split_list(parser.get("--model"));
  SOMBRERO_CHECK(!options.models.empty(), "--model needs at least one model name");
  options.batch = positive(parser, "--batch", 0);
  options.image_size = positive(parser, "--image-size", 8);
  options.context.precision = layers::parse_precision(parser.get("--precision"));
  const std::string bn_backward = parser.get("--bn-backward");
  SOMBRERO_CHECK(
      bn_backward == "fused" || bn_backward == "own" || bn_backward == "fused-reading-relu",
      "--bn-backward takes fused, fused-reading-relu or own, got '", bn_backward, "'");
  options.context.fuse_batch_norm_backward = bn_backward != "own";
  options.context.recompute_relu_mask = bn_backward == "fused";
  const std::string algo = parser.get("--algo");
  const auto choose_algo = [&] {  // after the device is known ("auto" depends on it)
    options.context.conv_algo = kernels::choose_conv_algo(
        algo, options.context.device, options.context.precision == layers::Precision::bf16);
  };
  choose_algo();  // a typo fails here, before any work
  options.u1_weights.clear();
  for (const std::string& w : split_list(parser.get("--u1"))) {
    std::size_t used = 0;
    float value = -1;
    try {
      value = std::stof(w, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    SOMBRERO_CHECK(used == w.size() && value >= 0, "--u1 takes weights >= 0, got '", w, "'");
    options.u1_weights.push_back(value);
  }
  // --data: the loader over a JPEG folder, batches normalised on the step's device.
  std::unique_ptr<datasets::Loader> loader;
  datasets::Normalization norm;
  std::int64_t epoch = 0;
  auto start_input = [&](const layers::Context& ctx) {
    if (!parser.has("--data")) return;
    SOMBRERO_CHECK(options.batch > 0,
                   "bench train-step --data needs --batch N (the loader's batch)");
    const std::string yaml =
        str("model: {name: ", options.models.front(), "}\ndata: {dataset: folder, path: '",
            parser.get("--data"), "', batch_size: ", options.batch,
            ", workers: ", parser.get("--workers"), ", image_size: ", options.image_size,
            ", augment: {random_resized_crop: true, hflip: true}}\n");
    const runtime::Config config =
        runtime::parse_config(yaml, "bench train-step --data", {}, runtime::run_config_schema());
    const auto dataset = datasets::make_dataset(config, datasets::Split::train);
    loader = std::make_unique<datasets::Loader>(
        dataset, datasets::make_transform(config, datasets::Split::train, *dataset),
        datasets::make_loader_options(config, datasets::Split::train, 0, 1));
    SOMBRERO_CHECK(loader->batches_per_epoch() > 0, "bench train-step --data: ", dataset->size(),
                   " images in ", parser.get("--data"), " make no batch of ", options.batch);
    norm = datasets::make_normalization(config);
    loader->start({epoch, 0});
    options.input_name =
        str("JPEGs from ", parser.get("--data"), " (", loader->workers(), " decoding threads)");
    options.input = [&, ctx](std::vector<std::int32_t>& labels) {
      const datasets::Batch* batch = loader->next();
      if (batch == nullptr) {  // next epoch
        loader->start({++epoch, 0});
        batch = loader->next();
      }
      labels = trainer::batch_labels(*batch);
      return trainer::batch_images(*batch, norm, ctx);
    };
  };
  Report report(command_line("train-step", args));
  if (parser.has("--cpu") || parser.has("--simt")) {
    options.context.device =
        parser.has("--simt") ? runtime::Device::simt() : runtime::Device::cpu();
    choose_algo();
    SOMBRERO_CHECK(!(parser.has("--cpu") && options.context.precision == layers::Precision::bf16),
                   "bench train-step --cpu: the CPU backend computes in f32; add --precision f32");
    report.set_device(runtime::to_string(options.context.device));
    std::cout << "sombrero bench train-step on " << runtime::to_string(options.context.device)
              << ", " << benchmarks::utc_date() << ", commit " << benchmarks::git_commit() << "\n";
    start_input(options.context);
    benchmarks::bench_train_step(options, report, std::cout);
  } else if (start_gpu_run(options.timing, report)) {
    options.context.device = runtime::Device::cuda(options.timing.device);
    choose_algo();
    start_input(options.context);
    benchmarks::bench_train_step(options, report, std::cout);
  }
  finish(parser, report);
  return 0;
}

int run_bench(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    std::cout << overview();
    return 0;
  }
  if (args.empty() || args[0].rfind("-", 0) == 0) return run_all(args);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "conv") return run_conv(rest);
  if (args[0] == "allreduce") return run_allreduce(rest);
  if (args[0] == "loader") return run_loader(rest);
  if (args[0] == "train-step") return run_train_step(rest);
  if (args[0] == "memory") return run_memory(rest);
  if (args[0] == "energy" || args[0] == "loss")
    return run_u1(args[0] == "energy" ? "energy" : "loss", rest);
  std::vector<std::string> names;
  for (const Subcommand& s : kSubcommands) names.push_back(s.name);
  throw Error(str("unknown benchmark '", args[0], "'", did_you_mean(args[0], names),
                  " (see `sombrero bench --help`)"));
}

}  // namespace

Command bench_command() {
  return {
      "bench",
      "time the kernels beside cuDNN and copy bandwidth (conv, energy, loss, memory), allreduce",
      run_bench};
}

}  // namespace sombrero::cli
