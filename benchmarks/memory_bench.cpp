// `sombrero bench memory`: the memory-bound layer kernels of a ResNet-50 training step
// (BatchNorm training forward and backward, ReLU forward and backward, residual add, in-place
// add, 3x3/2 max pooling, global average pooling) in GB/s against a device-to-device copy of
// the same bytes measured in the same run, and BatchNorm against cuDNN's on the same NHWC
// tensor (benchmarks/cudnn_batch_norm.h).
//
// Bytes ("MB"): the compulsory traffic, each activation-sized tensor a kernel must read read
// once and each it must write written once (per-channel parameters and statistics, a few KB,
// left out): BN forward reads x, writes y; BN backward reads x and dy, writes dx (with the
// ReLU, also its output; from a convolution's sums, x and g); relu forward
// 2 tensors, relu backward, add and add_inplace 3; max pool forward reads x once and writes y
// and the one-byte argmax, backward reads dy and argmax and writes dx; global average pool reads
// x (dy) and writes y (dx). "floor MB": the kernel's own floor from its header comment (BN
// forward 4 e M C: x is read three times; backward 5 e M C, 7 e with the ReLU, 3 e from a
// convolution's sums; the rest equal the compulsory bytes). Copy: cudaMemcpyAsync of the compulsory
// byte count, bandwidth 2 bytes / time. On the GPU an L2-sized buffer is overwritten before every
// timed run (kernel, cuDNN or copy).
//
// Checks: every kernel's output is compared with a reference before it is timed, so a wrong
// kernel cannot post a fast number: BatchNorm with cuDNN's output (the CPU backend where
// cuDNN is missing or refuses), the others with the CPU backend on host copies of the same
// inputs. The column is max |ours - reference| / max |reference|.
//
// --simt: tiny shapes through the SIMT execution of the same kernel sources on the CPU (the
// plumbing, for CI); its times are CPU-emulation times and say so.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iomanip>
#include <iterator>
#include <memory>
#include <ostream>
#include <sstream>
#include <type_traits>
#include <utility>

#include "benchmarks/benchmarks.h"
#include "kernels/norm/batch_norm.h"
#include "kernels/pointwise/pointwise.h"
#include "kernels/pool/pool.h"
#include "runtime/bf16.h"
#include "runtime/device_array.h"
#include "runtime/error.h"
#include "runtime/generator.h"
#include "runtime/tensor.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include <cuda_runtime.h>

#include "runtime/cuda_check.h"
#include "runtime/device_info.h"
#endif
#if defined(SOMBRERO_HAVE_CUDNN)
#include "benchmarks/cudnn_batch_norm.h"
#endif

// The kernel `function` of kernels::simt (target.simt()) or kernels::cuda.
#if defined(SOMBRERO_HAVE_CUDA)
#define SOMBRERO_MEMORY_KERNEL(target, function, ...) \
  ((target).simt() ? kernels::simt::function(__VA_ARGS__) : kernels::cuda::function(__VA_ARGS__))
#else
#define SOMBRERO_MEMORY_KERNEL(target, function, ...) kernels::simt::function(__VA_ARGS__)
#endif

namespace sombrero::benchmarks {

namespace {

using runtime::Device;
using runtime::DType;

constexpr float kEps = 1e-5f, kMomentum = 0.1f;

// One activation tensor [N, H, W, C] of ResNet-50 at 224x224.
struct Activation {
  const char* where;
  int height, width, channels;
};

std::vector<Activation> activations(bool simt) {
  if (simt) return {{"stem", 8, 8, 64}, {"layer1", 4, 4, 256}, {"layer4", 2, 2, 2048}};
  return {{"stem", 112, 112, 64},  {"layer1", 56, 56, 64},   {"layer1", 56, 56, 256},
          {"layer2", 28, 28, 512}, {"layer3", 14, 14, 1024}, {"layer4", 7, 7, 2048}};
}

// Where the kernels run and how they are timed: a CUDA device (CUDA events after an L2
// flush, cudaMemcpyAsync as the copy) or the SIMT executor on the CPU (steady clock, memcpy).
class Target {
 public:
  explicit Target(const MemoryBenchOptions& options)
      : timing_(options.timing),
        simt_(options.simt),
        device_(options.simt ? Device::simt() : Device::cuda(options.timing.device)) {
#if defined(SOMBRERO_HAVE_CUDA)
    if (!simt_) {
      stream_ = Tensor::empty({1}, DType::f32, device_).stream();
      flush_ = std::make_unique<L2Flush>(options.timing.device, stream_);
    }
#else
    SOMBRERO_CHECK(simt_, "bench memory on a GPU needs the CUDA backend; use --simt");
#endif
  }

  bool simt() const {
    return simt_;
  }
  Device device() const {
    return device_;
  }
  cudaStream_t stream() const {
    return stream_;
  }

  double time_ms(const std::function<void()>& run) {
    if (simt_) return median_cpu_ms(timing_, run);
    return median_cuda_ms(timing_, stream_, run, *flush_);
  }

  // GB/s of a copy of `bytes` (read + write: 2 bytes moved).
  double copy_gb_per_s(std::size_t bytes) {
    double ms = 0;
    if (simt_) {
      std::vector<std::byte> source(bytes), target(bytes);
      ms = median_cpu_ms(timing_, [&] { std::memcpy(target.data(), source.data(), bytes); });
    } else {
      ms = device_copy_ms(timing_, bytes, *flush_);
    }
    return 2.0 * double(bytes) / (ms * 1e6);
  }

 private:
  BenchOptions timing_;
  bool simt_;
  Device device_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<L2Flush> flush_;  // CUDA targets
};

// max |got - reference| / max |reference|; NaN when got has a NaN. The reference (f32) is
// first rounded to `stored`, the type of the kernel's output: the elementwise and pooling
// kernels promise the CPU backend's result rounded once, so their difference is exactly 0.
double relative_difference(const std::vector<float>& got, std::vector<float> reference,
                           DType stored) {
  if (stored == DType::bf16)
    for (float& value : reference) value = bf16_to_float(float_to_bf16(value));
  SOMBRERO_CHECK(got.size() == reference.size(), "bench memory: cross-check of ", got.size(),
                 " values against ", reference.size());
  double difference = 0, largest = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(double(got[i]) - double(reference[i]));
    if (std::isnan(d)) return NAN;
    difference = std::max(difference, d);
    largest = std::max(largest, std::fabs(double(reference[i])));
  }
  return difference / std::max(largest, 1e-30);
}

// One measured kernel: what a table row and a JSON row show.
struct Measurement {
  Measurement(std::string kernel_name, std::string shape_text, double compulsory, double floor)
      : kernel(std::move(kernel_name)),
        shape(std::move(shape_text)),
        bytes(compulsory),
        floor_bytes(floor) {}
  std::string kernel, shape;
  double bytes = 0, floor_bytes = 0, ms = NAN;
  double cudnn_ms = NAN;
  std::string cudnn_note;  // why there is no cuDNN time ("" when there is one or none applies)
  std::string checked_against;
  double difference = NAN;
};

class MemoryBench {
 public:
  MemoryBench(const MemoryBenchOptions& options, Report& report, std::ostream& out)
      : options_(options), report_(report), target_(options), generator_(11) {
    std::vector<Table::Column> columns = {
        {"kernel", 14},   {"dtype", 5},        {"N x H x W x C", 18},
        {"MB", 8},        {"floor MB", 8},     {options.simt ? "emu us" : "us", 9},
        {"GB/s", 6},      {"floor GB/s", 10},  {"copy GB/s", 9},
        {"% of copy", 9}, {"cuDNN us", 9},     {"ours/cuDNN", 10},
        {"vs", 6},        {"max rel diff", 12}};
    const std::string where =
        options.simt ? "SIMT (the CUDA sources executed on the CPU): CPU-emulation times, not "
                       "GPU times; copy = memcpy on the CPU"
                     : str("copy = cudaMemcpyAsync D2D of the same bytes (read + write), median "
                           "of ",
                           options.timing.iters, ", L2 flushed before each run");
    table_ = std::make_unique<Table>(
        out,
        str("memory: ResNet-50 layer kernels, batch ", options.batch,
            "; MB = compulsory bytes (each tensor read or written once); floor MB = the "
            "kernel's own floor; ",
            where, "; ours/cuDNN = cuDNN time / our time (> 1: ours faster)"),
        columns);
  }

  void run() {
    for (DType dtype : options_.precisions) {
      if (dtype == DType::f32)
        run_precision<float>(dtype);
      else
        run_precision<bf16>(dtype);
    }
    if (rows_ == 0) add_note(str("no kernel or shape matches --filter '", options_.filter, "'"));
    for (const std::string& note : notes_) {
      table_->note(note);
      report_.note(note);
    }
  }

 private:
  template <typename T>
  void run_precision(DType dtype) {
    for (const Activation& a : activations(options_.simt)) {
      batch_norm<T>(a, dtype);
      batch_norm_relu_backward<T>(a, dtype);
      elementwise<T>(a, dtype);
    }
    const auto shapes = activations(options_.simt);
    max_pool<T>(shapes.front(), dtype);
    global_avg_pool<T>(shapes.back(), dtype);
  }

  std::string dims(const Activation& a) const {
    return str(options_.batch, "x", a.height, "x", a.width, "x", a.channels);
  }

  bool selected(const std::string& kernel, const Activation& a) const {
    const std::string text = str(kernel, " ", a.where, " ", dims(a));
    return options_.filter.empty() || text.find(options_.filter) != std::string::npos;
  }

  Tensor activation(const Activation& a, DType dtype) const {
    return Tensor::empty({options_.batch, a.height, a.width, a.channels}, dtype, target_.device());
  }

  void add_note(const std::string& note) {
    if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) notes_.push_back(note);
  }

  void emit(const Measurement& m, DType dtype) {
    const double gb = m.bytes / (m.ms * 1e6), floor_gb = m.floor_bytes / (m.ms * 1e6);
    const double copy = target_.copy_gb_per_s(std::size_t(m.bytes));
    const double ratio = m.cudnn_ms / m.ms;
    std::ostringstream diff;
    diff << std::scientific << std::setprecision(1) << m.difference;
    table_->row({m.kernel, runtime::dtype_name(dtype), m.shape, fixed(m.bytes / 1e6, 1),
                 fixed(m.floor_bytes / 1e6, 1), fixed(m.ms * 1e3, 1), fixed(gb, 0),
                 fixed(floor_gb, 0), fixed(copy, 0), fixed(100 * gb / copy, 1),
                 m.cudnn_note.empty() ? fixed(m.cudnn_ms * 1e3, 1) : "n/a", fixed(ratio, 2),
                 m.checked_against, std::isnan(m.difference) ? "NaN" : diff.str()});
    nlohmann::json row = {{"bench", "memory"},
                          {"kernel", m.kernel},
                          {"precision", runtime::dtype_name(dtype)},
                          {"shape", m.shape},
                          {"execution", options_.simt ? "simt (CPU emulation)" : "cuda"},
                          {"bytes", m.bytes},
                          {"floor_bytes", m.floor_bytes},
                          {"ms", m.ms},
                          {"gb_per_s", gb},
                          {"floor_gb_per_s", floor_gb},
                          {"copy_gb_per_s", copy},
                          {"fraction_of_copy", gb / copy},
                          {"checked_against", m.checked_against},
                          {"max_relative_difference", m.difference}};
    if (!std::isnan(m.cudnn_ms)) {
      row["cudnn_ms"] = m.cudnn_ms;
      row["cudnn_over_ours"] = ratio;
    }
    if (!m.cudnn_note.empty()) row["cudnn"] = m.cudnn_note;
    report_.add(std::move(row));
    ++rows_;
  }

  // BatchNorm training forward and backward over [N*H*W, C], ours and cuDNN's.
  template <typename T>
  void batch_norm(const Activation& a, DType dtype) {
    const bool forward = selected("bn fwd", a), backward = selected("bn bwd", a);
    if (!forward && !backward) return;
    const Device device = target_.device();
    const kernels::BatchNormShape shape{std::int64_t(options_.batch) * a.height * a.width,
                                        a.channels};
    Tensor x = activation(a, dtype), y = activation(a, dtype), dy = activation(a, dtype),
           dx = activation(a, dtype);
    x.fill_normal(generator_, 0.5f, 2.0f);
    dy.fill_normal(generator_, 0.0f, 1.0f);
    Tensor gamma = Tensor::empty({a.channels}, DType::f32, device);
    Tensor beta = Tensor::empty({a.channels}, DType::f32, device);
    gamma.fill_uniform(generator_, 0.5f, 1.5f);
    beta.fill_normal(generator_, 0.0f, 0.5f);
    Tensor running_mean = Tensor::zeros({a.channels}, DType::f32, device);
    Tensor running_var = Tensor::full({a.channels}, 1.0f, DType::f32, device);
    Tensor save_mean = Tensor::empty({a.channels}, DType::f32, device);
    Tensor save_invstd = Tensor::empty({a.channels}, DType::f32, device);
    Tensor dgamma = Tensor::zeros({a.channels}, DType::f32, device);
    Tensor dbeta = Tensor::zeros({a.channels}, DType::f32, device);
    Tensor workspace = Tensor::empty({std::int64_t(kernels::batch_norm_workspace_floats(shape))},
                                     DType::f32, device);
    cudaStream_t stream = target_.stream();
    auto ours_forward = [&] {
      SOMBRERO_MEMORY_KERNEL(target_, batch_norm_forward_training, shape, x.data<T>(),
                             gamma.data<float>(), beta.data<float>(), kEps, kMomentum, y.data<T>(),
                             running_mean.data<float>(), running_var.data<float>(),
                             save_mean.data<float>(), save_invstd.data<float>(),
                             workspace.data<float>(), stream);
    };
    auto ours_backward = [&] {
      SOMBRERO_MEMORY_KERNEL(target_, batch_norm_backward_training, shape, x.data<T>(),
                             dy.data<T>(), gamma.data<float>(), save_mean.data<float>(),
                             save_invstd.data<float>(), dx.data<T>(), dgamma.data<float>(),
                             dbeta.data<float>(), workspace.data<float>(), stream);
    };
    ours_forward();
    ours_backward();

    // The baseline's outputs: cuDNN's where it runs, else the CPU backend's.
    std::string against = "cpu", cudnn_note;
    std::vector<float> y_reference, dx_reference;
    std::function<void()> cudnn_forward, cudnn_backward;
#if defined(SOMBRERO_HAVE_CUDNN)
    Tensor cudnn_y, cudnn_dx;
    std::unique_ptr<cudnn::BatchNorm> baseline;
    if (!target_.simt()) {
      cudnn_y = activation(a, dtype);
      cudnn_dx = activation(a, dtype);
      baseline = std::make_unique<cudnn::BatchNorm>(
          options_.timing.device, stream,
          cudnn::BatchNormProblem{options_.batch, a.height, a.width, a.channels, dtype, kEps,
                                  kMomentum},
          gamma.data<float>(), beta.data<float>(), x.raw_data(), cudnn_y.raw_data(), dy.raw_data(),
          cudnn_dx.raw_data());
      if (baseline->unsupported().empty()) {
        against = "cuDNN";
        add_note(str("cuDNN BatchNorm: ForwardTrainingEx / BackwardEx, mode ",
                     baseline->mode_name(), " (", runtime::dtype_name(dtype), ")"));
        y_reference = cudnn_y.to_floats();
        dx_reference = cudnn_dx.to_floats();
        cudnn_forward = [&] { baseline->forward_training(x.raw_data(), cudnn_y.raw_data()); };
        cudnn_backward = [&] {
          baseline->backward(x.raw_data(), dy.raw_data(), cudnn_dx.raw_data());
        };
      } else {
        cudnn_note = baseline->unsupported();
      }
    }
#else
    if (!target_.simt()) cudnn_note = "this build has no cuDNN";
#endif
    if (target_.simt())
      add_note(
          "SIMT: no cuDNN on the CPU; BatchNorm is checked against the "
          "CPU backend");
    if (!cudnn_note.empty())
      add_note(str("cuDNN BatchNorm n/a (", dims(a), ", ", runtime::dtype_name(dtype),
                   "): ", cudnn_note));
    if (y_reference.empty()) {  // the CPU backend on the same (widened) inputs
      const std::vector<float> xs = x.to_floats(), dys = dy.to_floats(), g = gamma.to_floats(),
                               b = beta.to_floats();
      const std::size_t n = xs.size(), c = std::size_t(a.channels);
      std::vector<float> mean(c), invstd(c), dg(c, 0.0f), db(c, 0.0f);
      y_reference.resize(n);
      dx_reference.resize(n);
      kernels::cpu::batch_norm_forward_training(shape, xs.data(), g.data(), b.data(), kEps,
                                                kMomentum, y_reference.data(), nullptr, nullptr,
                                                mean.data(), invstd.data());
      kernels::cpu::batch_norm_backward_training(shape, xs.data(), dys.data(), g.data(),
                                                 mean.data(), invstd.data(), dx_reference.data(),
                                                 dg.data(), db.data());
    }
    const double e = double(sizeof(T)), elements = double(x.numel());
    if (forward) {
      Measurement m{"bn fwd", dims(a), 2 * e * elements, 4 * e * elements};
      m.difference = relative_difference(y.to_floats(), y_reference, dtype);
      m.checked_against = against;
      m.ms = target_.time_ms(ours_forward);
      if (cudnn_forward) m.cudnn_ms = target_.time_ms(cudnn_forward);
      m.cudnn_note = cudnn_note;
      emit(m, dtype);
    }
    if (backward) {
      ours_forward();  // the saved statistics of the inputs, as backward expects
      Measurement m{"bn bwd", dims(a), 3 * e * elements, 5 * e * elements};
      ours_backward();
      m.difference = relative_difference(dx.to_floats(), dx_reference, dtype);
      m.checked_against = against;
      m.ms = target_.time_ms(ours_backward);
      if (cudnn_backward) m.cudnn_ms = target_.time_ms(cudnn_backward);
      m.cudnn_note = cudnn_note;
      emit(m, dtype);
    }
  }

  // The BatchNorm + ReLU backward as training runs it: "bn bwd relu", the BatchNorm's own
  // passes with the ReLU's output as the mask (x, dy and y read twice, dx written: 7 e M C),
  // and (bf16) "bn bwd sums", from the per-tile sums that the next convolution's
  // backward-data epilogue computes in training (conv2d_backward_data_with_batch_norm; here
  // made on the host, tiles of 128 rows): g and x read, dx written (3 e M C; the epilogue's
  // 2 e are the convolution's, timed there). Both against the CPU backend's masked backward.
  template <typename T>
  void batch_norm_relu_backward(const Activation& a, DType dtype) {
    const bool own = selected("bn bwd relu", a);
    const bool sums = std::is_same_v<T, bf16> && selected("bn bwd sums", a);
    if (!own && !sums) return;
    const Device device = target_.device();
    const int C = a.channels;
    const kernels::BatchNormShape shape{std::int64_t(options_.batch) * a.height * a.width, C};
    Tensor x = activation(a, dtype), y = activation(a, dtype), dy = activation(a, dtype),
           dx = activation(a, dtype);
    x.fill_normal(generator_, 0.5f, 2.0f);
    dy.fill_normal(generator_, 0.0f, 1.0f);
    Tensor gamma = Tensor::empty({C}, DType::f32, device),
           beta = Tensor::empty({C}, DType::f32, device);
    gamma.fill_uniform(generator_, 0.5f, 1.5f);
    beta.fill_normal(generator_, 0.0f, 0.5f);
    Tensor save_mean = Tensor::empty({C}, DType::f32, device);
    Tensor save_invstd = Tensor::empty({C}, DType::f32, device);
    Tensor dgamma = Tensor::zeros({C}, DType::f32, device),
           dbeta = Tensor::zeros({C}, DType::f32, device);
    Tensor workspace = Tensor::empty({std::int64_t(kernels::batch_norm_workspace_floats(shape))},
                                     DType::f32, device);
    cudaStream_t stream = target_.stream();
    SOMBRERO_MEMORY_KERNEL(target_, batch_norm_forward_training, shape, x.data<T>(),
                           gamma.data<float>(), beta.data<float>(), kEps, kMomentum, y.data<T>(),
                           nullptr, nullptr, save_mean.data<float>(), save_invstd.data<float>(),
                           workspace.data<float>(), stream, /*relu=*/true);
    const std::vector<float> xs = x.to_floats(), dys = dy.to_floats(), ys = y.to_floats(),
                             gs = gamma.to_floats(), mean = save_mean.to_floats(),
                             invstd = save_invstd.to_floats();
    std::vector<float> reference(xs.size()), dg(std::size_t(C), 0.0f), db(std::size_t(C), 0.0f);
    kernels::cpu::batch_norm_backward_training(shape, xs.data(), dys.data(), gs.data(), mean.data(),
                                               invstd.data(), reference.data(), dg.data(),
                                               db.data(), ys.data());
    const double e = double(sizeof(T)), elements = double(x.numel());
    // Runs `kernel` once, checks dx, times it: a row of `tensors` compulsory and `floor` passes.
    const auto measure = [&](const char* name, double tensors, double floor,
                             const std::function<void()>& kernel) {
      Measurement m{name, dims(a), tensors * e * elements, floor * e * elements};
      kernel();
      m.difference = relative_difference(dx.to_floats(), reference, dtype);
      m.checked_against = "cpu";
      m.ms = target_.time_ms(kernel);
      emit(m, dtype);
    };
    if (own)
      measure("bn bwd relu", 4, 7, [&] {
        SOMBRERO_MEMORY_KERNEL(target_, batch_norm_backward_training, shape, x.data<T>(),
                               dy.data<T>(), gamma.data<float>(), save_mean.data<float>(),
                               save_invstd.data<float>(), dx.data<T>(), dgamma.data<float>(),
                               dbeta.data<float>(), workspace.data<float>(), stream, y.data<T>());
      });
    if constexpr (std::is_same_v<T, bf16>) {
      if (!sums) return;
      constexpr std::int64_t kTileRows = 128;
      const std::int64_t tiles = (shape.rows + kTileRows - 1) / kTileRows;
      std::vector<float> g(dys.size()), partials(2 * std::size_t(tiles) * C, 0.0f);
      for (std::size_t i = 0; i < g.size(); ++i) g[i] = ys[i] > 0.0f ? dys[i] : 0.0f;
      for (std::int64_t r = 0; r < shape.rows; ++r)
        for (int c = 0; c < C; ++c) {
          const std::size_t i = std::size_t(r) * C + c, t = std::size_t(r / kTileRows);
          partials[(2 * t) * C + c] += g[i];
          partials[(2 * t + 1) * C + c] += g[i] * (xs[i] - mean[c]);
        }
      const Tensor g_tensor = Tensor::from_floats(x.shape(), g, dtype, device);
      const Tensor partial_tensor =
          Tensor::from_floats({std::int64_t(partials.size())}, partials, DType::f32, device);
      measure("bn bwd sums", 3, 3, [&] {
        SOMBRERO_MEMORY_KERNEL(target_, batch_norm_backward_training_from_partials, shape,
                               partial_tensor.data<float>(), tiles, x.data<T>(), g_tensor.data<T>(),
                               gamma.data<float>(), save_mean.data<float>(),
                               save_invstd.data<float>(), dx.data<T>(), dgamma.data<float>(),
                               dbeta.data<float>(), workspace.data<float>(), stream);
      });
    }
  }

  // ReLU forward / backward, add and add_inplace on tensors of the activation's shape,
  // each checked against the CPU backend.
  template <typename T>
  void elementwise(const Activation& a, DType dtype) {
    const char* names[] = {"relu fwd", "relu bwd", "add", "add_inplace"};
    if (std::none_of(std::begin(names), std::end(names),
                     [&](const char* name) { return selected(name, a); }))
      return;
    Tensor x = activation(a, dtype), y = activation(a, dtype), dy = activation(a, dtype),
           dx = activation(a, dtype), sum = activation(a, dtype);
    x.fill_normal(generator_, 0.0f, 1.0f);
    dy.fill_normal(generator_, 0.0f, 1.0f);
    const std::int64_t n = x.numel();
    cudaStream_t stream = target_.stream();
    const std::vector<float> xs = x.to_floats(), dys = dy.to_floats();
    const double e = double(sizeof(T)), elements = double(n);
    auto measure = [&](const char* name, double tensors, const std::function<void()>& kernel,
                       const std::function<double()> check) {
      if (!selected(name, a)) return;
      Measurement m{name, dims(a), tensors * e * elements, tensors * e * elements};
      m.checked_against = "cpu";
      kernel();
      m.difference = check();
      m.ms = target_.time_ms(kernel);
      emit(m, dtype);
    };
    // relu forward first: its output is relu backward's mask.
    SOMBRERO_MEMORY_KERNEL(target_, relu_forward, n, x.data<T>(), y.data<T>(), stream);
    const std::vector<float> ys = y.to_floats();
    std::vector<float> reference(xs.size());
    measure(
        "relu fwd", 2,
        [&] { SOMBRERO_MEMORY_KERNEL(target_, relu_forward, n, x.data<T>(), y.data<T>(), stream); },
        [&] {
          kernels::cpu::relu_forward(n, xs.data(), reference.data());
          return relative_difference(y.to_floats(), reference, dtype);
        });
    measure(
        "relu bwd", 3,
        [&] {
          SOMBRERO_MEMORY_KERNEL(target_, relu_backward, n, y.data<T>(), dy.data<T>(), dx.data<T>(),
                                 stream);
        },
        [&] {
          kernels::cpu::relu_backward(n, ys.data(), dys.data(), reference.data());
          return relative_difference(dx.to_floats(), reference, dtype);
        });
    measure(
        "add", 3,
        [&] {
          SOMBRERO_MEMORY_KERNEL(target_, add, n, x.data<T>(), dy.data<T>(), sum.data<T>(), stream);
        },
        [&] {
          kernels::cpu::add(n, xs.data(), dys.data(), reference.data());
          return relative_difference(sum.to_floats(), reference, dtype);
        });
    // add_inplace: dx += x, checked from dx's values before the first run.
    std::vector<float> before;
    measure(
        "add_inplace", 3,
        [&] {
          if (before.empty()) before = dx.to_floats();
          SOMBRERO_MEMORY_KERNEL(target_, add_inplace, n, x.data<T>(), dx.data<T>(), stream);
        },
        [&] {
          kernels::cpu::add_inplace(n, xs.data(), before.data());
          return relative_difference(dx.to_floats(), before, dtype);
        });
  }

  // Max pool 3x3, stride 2, padding 1 (ResNet's stem), forward and backward.
  template <typename T>
  void max_pool(const Activation& a, DType dtype) {
    const bool forward = selected("maxpool fwd", a), backward = selected("maxpool bwd", a);
    if (!forward && !backward) return;
    const kernels::Pool2dShape shape{
        options_.batch, a.height, a.width, a.channels, 3, 3, 2, 2, 1, 1};
    const Activation out{a.where, shape.out_height(), shape.out_width(), a.channels};
    Tensor x = activation(a, dtype), dx = activation(a, dtype);
    Tensor y = activation(out, dtype), dy = activation(out, dtype);
    runtime::DeviceArray<kernels::PoolArgmax> argmax(std::size_t(y.numel()), target_.device());
    x.fill_normal(generator_, 0.0f, 1.0f);
    dy.fill_normal(generator_, 0.0f, 1.0f);
    cudaStream_t stream = target_.stream();
    auto run_forward = [&] {
      SOMBRERO_MEMORY_KERNEL(target_, max_pool2d_forward, shape, x.data<T>(), y.data<T>(),
                             argmax.data(), stream);
    };
    auto run_backward = [&] {
      SOMBRERO_MEMORY_KERNEL(target_, max_pool2d_backward, shape, dy.data<T>(), argmax.data(),
                             dx.data<T>(), stream);
    };
    run_forward();
    const double e = double(sizeof(T)), in = double(x.numel()), outputs = double(y.numel());
    const std::string label = str(dims(a), " 3x3/2");
    if (forward) {
      const double bytes = e * in + (e + 1) * outputs;
      Measurement m{"maxpool fwd", label, bytes, bytes};
      const std::vector<float> xs = x.to_floats();
      std::vector<float> reference(std::size_t(y.numel()));
      std::vector<kernels::PoolArgmax> reference_argmax(reference.size());
      kernels::cpu::max_pool2d_forward(shape, xs.data(), reference.data(), reference_argmax.data());
      m.difference = relative_difference(y.to_floats(), reference, dtype);
      if (argmax.to_vector() != reference_argmax) m.difference = NAN;  // a wrong argmax
      m.checked_against = "cpu";
      m.ms = target_.time_ms(run_forward);
      emit(m, dtype);
    }
    if (backward) {
      const double bytes = (e + 1) * outputs + e * in;
      Measurement m{"maxpool bwd", label, bytes, bytes};
      run_backward();
      const std::vector<float> dys = dy.to_floats();
      const std::vector<kernels::PoolArgmax> routes = argmax.to_vector();
      std::vector<float> reference(std::size_t(x.numel()));
      kernels::cpu::max_pool2d_backward(shape, dys.data(), routes.data(), reference.data());
      m.difference = relative_difference(dx.to_floats(), reference, dtype);
      m.checked_against = "cpu";
      m.ms = target_.time_ms(run_backward);
      emit(m, dtype);
    }
  }

  // Global average pool (ResNet's head), forward and backward.
  template <typename T>
  void global_avg_pool(const Activation& a, DType dtype) {
    const bool forward = selected("global avg fwd", a), backward = selected("global avg bwd", a);
    if (!forward && !backward) return;
    const int pixels = a.height * a.width, batch = options_.batch;
    const Device device = target_.device();
    Tensor x = activation(a, dtype), dx = activation(a, dtype);
    Tensor y = Tensor::empty({batch, a.channels}, dtype, device);
    Tensor dy = Tensor::empty({batch, a.channels}, dtype, device);
    x.fill_normal(generator_, 0.0f, 1.0f);
    dy.fill_normal(generator_, 0.0f, 1.0f);
    cudaStream_t stream = target_.stream();
    const double e = double(sizeof(T)), bytes = e * double(x.numel() + y.numel());
    const std::string label = str(dims(a), " global");
    if (forward) {
      auto run = [&] {
        SOMBRERO_MEMORY_KERNEL(target_, global_avg_pool_forward, batch, pixels, a.channels,
                               x.data<T>(), y.data<T>(), stream);
      };
      Measurement m{"global avg fwd", label, bytes, bytes};
      run();
      const std::vector<float> xs = x.to_floats();
      std::vector<float> reference(std::size_t(y.numel()));
      kernels::cpu::global_avg_pool_forward(batch, pixels, a.channels, xs.data(), reference.data());
      m.difference = relative_difference(y.to_floats(), reference, dtype);
      m.checked_against = "cpu";
      m.ms = target_.time_ms(run);
      emit(m, dtype);
    }
    if (backward) {
      auto run = [&] {
        SOMBRERO_MEMORY_KERNEL(target_, global_avg_pool_backward, batch, pixels, a.channels,
                               dy.data<T>(), dx.data<T>(), stream);
      };
      Measurement m{"global avg bwd", label, bytes, bytes};
      run();
      const std::vector<float> dys = dy.to_floats();
      std::vector<float> reference(std::size_t(x.numel()));
      kernels::cpu::global_avg_pool_backward(batch, pixels, a.channels, dys.data(),
                                             reference.data());
      m.difference = relative_difference(dx.to_floats(), reference, dtype);
      m.checked_against = "cpu";
      m.ms = target_.time_ms(run);
      emit(m, dtype);
    }
  }

  const MemoryBenchOptions& options_;
  Report& report_;
  Target target_;
  runtime::Generator generator_;
  std::unique_ptr<Table> table_;
  std::vector<std::string> notes_;
  int rows_ = 0;
};

}  // namespace

void bench_memory(const MemoryBenchOptions& options, Report& report, std::ostream& out) {
  SOMBRERO_CHECK(options.batch >= 1, "bench memory: --batch must be >= 1, got ", options.batch);
  MemoryBench(options, report, out).run();
}

}  // namespace sombrero::benchmarks

#undef SOMBRERO_MEMORY_KERNEL
