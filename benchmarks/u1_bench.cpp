// `sombrero bench energy` and `sombrero bench loss`: memory-bound kernels measured in GB/s
// against a device-to-device copy of the same bytes in the same run, and the fused loss
// against the same work unfused. The fused loss is timed with each of its kernels that fits
// the device (streaming always; resident where the sample fits shared memory), one row each,
// and the trainer's choice (`automatic`) is named; the automatic resident kernel also with
// other sizes of its L2 request for the next sweep's heads (0: none), to choose the default.
//
// Bytes: each input read once and each output written once (a buffer that is read and
// written, dA, counts twice). Copy: cudaMemcpyAsync of the kernel's byte count, which reads
// and writes that many bytes; its bandwidth is 2 * bytes / time. Before every timed run
// (kernel or copy) an L2-sized buffer is overwritten, so no run starts with its data in L2.
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <numbers>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "benchmarks/benchmarks.h"
#include "kernels/energy/energy.h"
#include "kernels/u1loss/class_angles.h"
#include "kernels/u1loss/u1_loss.h"
#include "runtime/error.h"
#include "runtime/generator.h"
#include "runtime/tensor.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include <cuda_runtime.h>

#include "benchmarks/bench_kernels.h"
#include "runtime/cuda_check.h"
#include "runtime/device_info.h"
#endif

namespace sombrero::benchmarks {

#if defined(SOMBRERO_HAVE_CUDA)
namespace {

using runtime::Device;
using runtime::DType;
using runtime::Shape;

double gb_per_s(double bytes, double ms) {
  return bytes / (ms * 1e6);
}

std::string dims(const U1BenchOptions& o) {
  return str(o.batch, "x", o.height, "x", o.width, "x", o.channels);
}

template <typename T>
T* typed(Tensor& t) {
  return t.data<T>();
}

// The JSON of a steady-state measurement (bench_report.h, median_cuda_ms_per_call).
nlohmann::json steady_fields(int copies, double ms, double gb_per_s, double copy_ms,
                             double copy_gb_per_s) {
  return {{"copies", copies},
          {"ms", ms},
          {"gb_per_s", gb_per_s},
          {"copy_ms", copy_ms},
          {"copy_gb_per_s", copy_gb_per_s},
          {"fraction_of_copy", gb_per_s / copy_gb_per_s}};
}

// Energy forward and backward for activation element type T (float or bf16): one run after
// an L2 flush, and the steady state over `copies` sets of buffers (rotation_copies).
template <typename T>
void energy_rows(const U1BenchOptions& o, DType dtype, Table& table, Report& report) {
  const Device gpu = Device::cuda(o.timing.device);
  const kernels::EnergyShape shape{o.batch, o.height, o.width, o.channels};
  runtime::Generator generator(5);
  const Shape a_shape{o.batch, o.height, o.width, o.channels}, e_shape{o.batch, o.height, o.width};
  const double forward_bytes =
      double(a_shape.numel() * runtime::dtype_size(dtype) + e_shape.numel() * 4);
  const double backward_bytes =
      double(3 * a_shape.numel() * runtime::dtype_size(dtype) + e_shape.numel() * 4);
  const int copies = rotation_copies(o.timing.device, forward_bytes);
  std::vector<Tensor> A, dA, E, dE;
  for (int i = 0; i < copies; ++i) {
    A.push_back(Tensor::empty(a_shape, dtype, gpu));
    A.back().fill_uniform(generator, 0.0f, 2.0f);
    dA.push_back(Tensor::zeros(a_shape, dtype, gpu));
    E.push_back(Tensor::empty(e_shape, DType::f32, gpu));
    dE.push_back(Tensor::empty(e_shape, DType::f32, gpu));
    dE.back().fill_normal(generator, 0.0f, 1e-3f);
  }
  cudaStream_t stream = A.front().stream();
  const auto forward = [&](int i) {
    kernels::cuda::energy_forward(shape, typed<T>(A[i]), typed<float>(E[i]), stream);
  };
  const auto backward = [&](int i) {
    kernels::cuda::energy_backward(shape, typed<T>(A[i]), typed<float>(dE[i]), typed<T>(dA[i]),
                                   stream);
  };
  const L2Flush flush(o.timing.device, stream);
  const struct {
    const char* pass;
    double bytes;
    std::function<void(int)> run;
  } passes[2] = {{"forward", forward_bytes, forward}, {"backward", backward_bytes, backward}};
  for (const auto& r : passes) {
    const double ms = median_cuda_ms(
        o.timing, stream, [&] { r.run(0); }, flush);
    const double copy = device_copy_ms(o.timing, std::size_t(r.bytes), flush);
    const double steady_ms = median_cuda_ms_per_call(o.timing, stream, copies, r.run);
    const double steady_copy = device_copy_ms_per_call(o.timing, std::size_t(r.bytes), copies);
    const double kernel_bw = gb_per_s(r.bytes, ms), copy_bw = gb_per_s(2 * r.bytes, copy);
    const double steady_bw = gb_per_s(r.bytes, steady_ms),
                 steady_copy_bw = gb_per_s(2 * r.bytes, steady_copy);
    table.row({str("energy ", r.pass), runtime::dtype_name(dtype), dims(o), fixed(r.bytes / 1e6, 1),
               fixed(ms * 1e3, 1), fixed(kernel_bw, 0), fixed(copy_bw, 0),
               fixed(100 * kernel_bw / copy_bw, 1), fixed(steady_ms * 1e3, 1),
               fixed(steady_copy_bw, 0), fixed(100 * steady_bw / steady_copy_bw, 1)});
    report.add(
        {{"bench", "energy"},
         {"pass", r.pass},
         {"precision", runtime::dtype_name(dtype)},
         {"shape", dims(o)},
         {"bytes", r.bytes},
         {"ms", ms},
         {"gb_per_s", kernel_bw},
         {"copy_ms", copy},
         {"copy_gb_per_s", copy_bw},
         {"fraction_of_copy", kernel_bw / copy_bw},
         {"steady", steady_fields(copies, steady_ms, steady_bw, steady_copy, steady_copy_bw)}});
  }
}

template <typename T>
void loss_rows(const U1BenchOptions& o, DType dtype, Table& table, Report& report) {
  const Device gpu = Device::cuda(o.timing.device);
  const kernels::U1LossShape shape{o.batch, o.classes, o.height, o.width, o.channels};
  const kernels::U1LossConfig config{0.1f, 1e-3f, kernels::U1Space::joint, 0.1f};
  runtime::Generator generator(6);
  Tensor logits = Tensor::empty({o.batch, o.classes}, DType::f32, gpu);
  logits.fill_normal(generator, 0.0f, 3.0f);
  std::vector<float> label_values(std::size_t(o.batch));
  for (int b = 0; b < o.batch; ++b) label_values[std::size_t(b)] = float((b * 7919) % o.classes);
  std::vector<std::int32_t> host_labels(label_values.begin(), label_values.end());
  Tensor labels = Tensor::empty({o.batch}, DType::f32, gpu);  // 4-byte storage for int32
  SOMBRERO_CHECK_CUDA(cudaMemcpy(labels.raw_data(), host_labels.data(), 4 * host_labels.size(),
                                 cudaMemcpyHostToDevice));
  const std::vector<float> angle_values =
      kernels::class_angle_table(kernels::ClassAngles::uniform, o.classes, 0);
  const Tensor angles = Tensor::from_floats({o.classes}, angle_values, DType::f32, gpu);
  std::vector<float> harmonic_values(2 * std::size_t(o.channels));
  for (int n = 0; n < o.channels; ++n) {
    const double angle = 2 * std::numbers::pi * n / o.channels;
    harmonic_values[std::size_t(n)] = float(std::cos(angle));
    harmonic_values[std::size_t(o.channels + n)] = float(std::sin(angle));
  }
  const Tensor harmonic = Tensor::from_floats({2, o.channels}, harmonic_values, DType::f32, gpu);
  Tensor A = Tensor::empty({o.batch, o.height, o.width, o.channels}, dtype, gpu);
  A.fill_uniform(generator, 0.0f, 2.0f);
  Tensor dA_fused = Tensor::zeros(A.shape(), dtype, gpu),
         dA_unfused = Tensor::zeros(A.shape(), dtype, gpu);
  Tensor dlogits = Tensor::empty(logits.shape(), DType::f32, gpu);
  Tensor losses = Tensor::empty({o.batch, 2}, DType::f32, gpu);
  Tensor z = Tensor::empty({o.batch, 2}, DType::f32, gpu);
  Tensor prediction = Tensor::empty({o.batch}, DType::f32, gpu);  // int32 storage
  Tensor E = Tensor::empty({o.batch, o.height, o.width}, DType::f32, gpu);
  Tensor moments = Tensor::empty({o.batch, 6}, DType::f32, gpu);
  cudaStream_t stream = A.stream();
  const auto* label_ptr = static_cast<const std::int32_t*>(labels.raw_data());
  auto* prediction_ptr = static_cast<std::int32_t*>(prediction.raw_data());

  kernels::U1LossArgsOf<T> fused_args;
  fused_args.logits = logits.data<float>();
  fused_args.labels = label_ptr;
  fused_args.activation = typed<T>(A);
  fused_args.class_angles = angles.data<float>();
  fused_args.dlogits = dlogits.data<float>();
  fused_args.dactivation = typed<T>(dA_fused);
  fused_args.z = z.data<float>();
  fused_args.angle_prediction = prediction_ptr;
  fused_args.sample_losses = losses.data<float>();
  const runtime::DeviceInfo device = runtime::cuda_devices()[std::size_t(o.timing.device)];
  // automatic is a resident kernel exactly where one fits (lambda > 0 here): one block per
  // sample, or a pair (a 2-block cluster) on sm_90 where one block cannot hold a sample.
  const kernels::U1LossKernel automatic =
      kernels::resolve_u1_loss_kernel(kernels::U1LossKernel::automatic, shape, sizeof(T),
                                      device.shared_memory_per_block_optin, device.cluster_launch);
  // Each kernel that runs here with the resident kernels' default feeding, and the automatic
  // one with other settings too: the head request at other sizes, the in-sweep request of the
  // next batch flipped, the bulk-copied first sweep flipped, both of those flipped, and every
  // sample by bulk copies (alone and with the in-sweep request).
  struct Fused {
    kernels::U1LossKernel kernel;
    kernels::U1ResidentTuning tuning = {};
  };
  const kernels::U1ResidentTuning defaults;
  std::vector<Fused> fused_kernels{{kernels::U1LossKernel::streaming}};
  if (automatic != kernels::U1LossKernel::streaming) {
    fused_kernels.push_back({automatic});
    for (const int kb : {0, 64, 128})
      if (kb * 1024 != defaults.head_prefetch_bytes)
        fused_kernels.push_back(
            {automatic, {kb * 1024, defaults.sweep_prefetch, defaults.bulk_first_sweep}});
    const std::pair<bool, bool> flips[] = {{true, false}, {false, true}, {true, true}};
    for (const auto& [flip_sweep, flip_bulk] : flips)
      fused_kernels.push_back({automatic,
                               {defaults.head_prefetch_bytes, flip_sweep != defaults.sweep_prefetch,
                                flip_bulk != defaults.bulk_first_sweep}});
    if (!defaults.bulk_next_samples)
      for (const bool sweep : {false, true})
        fused_kernels.push_back({automatic, {defaults.head_prefetch_bytes, sweep, false, true}});
  }
  // Where one block holds a sample, the pair too, for comparison.
  if (automatic == kernels::U1LossKernel::resident && device.cluster_launch)
    fused_kernels.push_back({kernels::U1LossKernel::resident_pair});
  // Steady state: further copies of A and dA to rotate through (copy 0 is A, dA_fused).
  const int copies = rotation_copies(o.timing.device, double(A.bytes() + dA_fused.bytes()));
  std::vector<Tensor> rotated_A{A}, rotated_dA{dA_fused};
  for (int i = 1; i < copies; ++i) {
    rotated_A.push_back(Tensor::empty(A.shape(), dtype, gpu));
    rotated_A.back().fill_uniform(generator, 0.0f, 2.0f);
    rotated_dA.push_back(Tensor::zeros(A.shape(), dtype, gpu));
  }
  // The fused loss on copy i (copy 0: A and dA_fused, the single runs').
  auto fused_call = [&](Fused fused) {
    return [&, fused](int i) {
      kernels::U1LossArgsOf<T> args = fused_args;
      args.activation = typed<T>(rotated_A[std::size_t(i)]);
      args.dactivation = typed<T>(rotated_dA[std::size_t(i)]);
      kernels::cuda::u1_loss_forward_backward(shape, config, args, stream, fused.kernel,
                                              fused.tuning);
    };
  };

  // Unfused: CE alone (the same kernel with lambda = 0 and no readout skips all U(1) work),
  // energy, U(1) moments, U(1) gradient.
  kernels::U1LossArgsOf<T> ce_args = fused_args;
  ce_args.activation = nullptr;
  ce_args.dactivation = nullptr;
  ce_args.z = nullptr;
  ce_args.angle_prediction = nullptr;
  kernels::U1LossConfig ce_config = config;
  ce_config.weight = 0.0f;
  const kernels::EnergyShape energy_shape{o.batch, o.height, o.width, o.channels};
  auto unfused = [&] {
    kernels::cuda::u1_loss_forward_backward(shape, ce_config, ce_args, stream);
    kernels::cuda::energy_forward(energy_shape, typed<T>(A), E.data<float>(), stream);
    cuda::u1_moments(shape, config, E.data<float>(), typed<T>(A), harmonic.data<float>(), label_ptr,
                     angles.data<float>(), moments.data<float>(), losses.data<float>(),
                     z.data<float>(), prediction_ptr, stream);
    cuda::u1_gradient(shape, config, typed<T>(A), harmonic.data<float>(), moments.data<float>(),
                      label_ptr, angles.data<float>(), typed<T>(dA_unfused), stream);
  };

  const L2Flush flush(o.timing.device, stream);
  const double unfused_ms = median_cuda_ms(o.timing, stream, unfused, flush);
  // The timed runs accumulated into dA_unfused: one more from dA = 0 is the reference
  // gradient for every fused kernel's cross-check.
  dA_unfused.fill(0.0f);
  unfused();
  const double bytes =
      double(logits.bytes() + labels.bytes() + angles.bytes() + A.bytes() + 2 * dA_fused.bytes() +
             dlogits.bytes() + losses.bytes() + z.bytes() + prediction.bytes());
  const double copy = device_copy_ms(o.timing, std::size_t(bytes), flush);
  const double copy_bw = gb_per_s(2 * bytes, copy);
  const double steady_copy = device_copy_ms_per_call(o.timing, std::size_t(bytes), copies);
  const double steady_copy_bw = gb_per_s(2 * bytes, steady_copy);
  for (const Fused& fused : fused_kernels) {
    const kernels::U1LossKernel kernel = fused.kernel;
    const bool resident = kernel != kernels::U1LossKernel::streaming;
    const bool other_heads = fused.tuning.head_prefetch_bytes != defaults.head_prefetch_bytes;
    const bool other_sweep = fused.tuning.sweep_prefetch != defaults.sweep_prefetch;
    const bool other_bulk = fused.tuning.bulk_first_sweep != defaults.bulk_first_sweep;
    const bool other_every = fused.tuning.bulk_next_samples != defaults.bulk_next_samples;
    const bool default_variant = !other_heads && !other_sweep && !other_bulk && !other_every;
    // Cross-check: one run from dA = 0; its U(1) gradient must agree with the unfused one.
    const auto call = fused_call(fused);
    dA_fused.fill(0.0f);
    call(0);
    Tensor difference = Tensor::empty({2}, DType::f32, gpu);
    cuda::max_abs_difference(typed<T>(dA_unfused), typed<T>(dA_fused), A.numel(),
                             difference.data<float>(), stream);
    const std::vector<float> d = difference.to_floats();
    const double error = double(d[0]) / std::max(double(d[1]), 1e-30);
    // Both paths sum in f32 and round dA once from zero: they may differ by one rounding of
    // the stored type at the largest magnitude (bf16: 2^-8 relative; measured 3.7e-3 / 4e-7).
    const double tolerance = dtype == DType::bf16 ? 1e-2 : 1e-4;
    SOMBRERO_CHECK(error <= tolerance, "bench loss: the fused ", to_string(kernel),
                   " kernel's dA differs from the unfused path's by ", error,
                   " of its largest value (", runtime::dtype_name(dtype), ", tolerance ", tolerance,
                   "): a kernel is wrong, the timings would mean nothing");
    const double fused_ms = median_cuda_ms(
        o.timing, stream, [&] { call(0); }, flush);
    const double kernel_bw = gb_per_s(bytes, fused_ms);
    const double steady_ms = median_cuda_ms_per_call(o.timing, stream, copies, call);
    const double steady_bw = gb_per_s(bytes, steady_ms);
    const std::string name = str(
        "fused ", to_string(kernel),
        resident && other_heads ? str(", L2 heads ", fused.tuning.head_prefetch_bytes / 1024, " KB")
                                : "",
        resident && other_sweep
            ? (fused.tuning.sweep_prefetch ? ", L2 next batch" : ", no L2 next batch")
            : "",
        resident && other_bulk
            ? (fused.tuning.bulk_first_sweep ? ", bulk first sweep" : ", no bulk first sweep")
            : "",
        resident && other_every
            ? (fused.tuning.bulk_next_samples ? ", bulk every sample" : ", no bulk every sample")
            : "",
        kernel == automatic && default_variant ? " *" : "");
    table.row({name, runtime::dtype_name(dtype), dims(o), fixed(bytes / 1e6, 1),
               fixed(fused_ms * 1e3, 1), fixed(kernel_bw, 0), fixed(copy_bw, 0),
               fixed(100 * kernel_bw / copy_bw, 1), fixed(unfused_ms * 1e3, 1),
               fixed(unfused_ms / fused_ms, 2), str(std::scientific, std::setprecision(1), error),
               fixed(steady_ms * 1e3, 1), fixed(steady_copy_bw, 0),
               fixed(100 * steady_bw / steady_copy_bw, 1)});
    report.add(
        {{"bench", "loss"},
         {"precision", runtime::dtype_name(dtype)},
         {"shape", dims(o)},
         {"classes", o.classes},
         {"config", "weight 0.1, eps 1e-3, joint, label smoothing 0.1"},
         {"kernel", to_string(kernel)},
         {"automatic", kernel == automatic && default_variant},
         {"head_prefetch_bytes", resident ? fused.tuning.head_prefetch_bytes : 0},
         {"sweep_prefetch", resident && fused.tuning.sweep_prefetch},
         {"bulk_first_sweep", resident && fused.tuning.bulk_first_sweep},
         {"bulk_next_samples", resident && fused.tuning.bulk_next_samples},
         {"bytes", bytes},
         {"fused_ms", fused_ms},
         {"gb_per_s", kernel_bw},
         {"copy_ms", copy},
         {"copy_gb_per_s", copy_bw},
         {"fraction_of_copy", kernel_bw / copy_bw},
         {"unfused_ms", unfused_ms},
         {"unfused_over_fused", unfused_ms / fused_ms},
         {"dactivation_max_relative_difference", error},
         {"steady", steady_fields(copies, steady_ms, steady_bw, steady_copy, steady_copy_bw)}});
  }
}

}  // namespace
#endif

void bench_energy([[maybe_unused]] const U1BenchOptions& options, [[maybe_unused]] Report& report,
                  [[maybe_unused]] std::ostream& out) {
#if !defined(SOMBRERO_HAVE_CUDA)
  SOMBRERO_FAIL("bench energy needs the CUDA backend");
#else
  Table table(out,
              str("energy: E = sum_c A^2 and dA += 2 A dE; bytes = inputs read once + outputs "
                  "written once; copy = cudaMemcpyAsync D2D of the same bytes (read + write); "
                  "median of ",
                  options.timing.iters,
                  "; us/GB/s: one run, L2 flushed (written) before it; steady: per call of "
                  "back-to-back calls over rotating copies of the buffers (>= 3x L2), copy "
                  "timed the same way"),
              {{"kernel", 16},
               {"dtype", 5},
               {"N x H x W x C", 14},
               {"MB", 7},
               {"us", 8},
               {"GB/s", 6},
               {"copy GB/s", 9},
               {"% of copy", 9},
               {"steady us", 9},
               {"copy GB/s", 9},
               {"% of copy", 9}});
  for (runtime::DType dtype : options.precisions) {
    if (dtype == runtime::DType::f32)
      energy_rows<float>(options, dtype, table, report);
    else
      energy_rows<bf16>(options, dtype, table, report);
  }
#endif
}

void bench_loss([[maybe_unused]] const U1BenchOptions& options, [[maybe_unused]] Report& report,
                [[maybe_unused]] std::ostream& out) {
#if !defined(SOMBRERO_HAVE_CUDA)
  SOMBRERO_FAIL("bench loss needs the CUDA backend");
#else
  Table table(
      out,
      str("loss: fused one-hot + U(1) (forward + backward, ", options.classes,
          " classes, lambda 0.1, joint) against copy bandwidth and against the unfused path "
          "(CE kernel + energy + U(1) moments + U(1) gradient); median of ",
          options.timing.iters,
          ", L2 flushed (written) before each run; steady: per call of back-to-back calls over "
          "rotating copies of A and dA (>= 3x L2), copy timed the same way; * = the kernel "
          "`automatic` picks"),
      {{"kernel", 18},
       {"dtype", 5},
       {"N x H x W x C", 14},
       {"MB", 7},
       {"us", 8},
       {"GB/s", 6},
       {"copy GB/s", 9},
       {"% of copy", 9},
       {"unfused us", 10},
       {"unfused/fused", 13},
       {"dA max err", 10},
       {"steady us", 9},
       {"copy GB/s", 9},
       {"% of copy", 9}});
  for (runtime::DType dtype : options.precisions) {
    if (dtype == runtime::DType::f32)
      loss_rows<float>(options, dtype, table, report);
    else
      loss_rows<bf16>(options, dtype, table, report);
  }
#endif
}

}  // namespace sombrero::benchmarks
