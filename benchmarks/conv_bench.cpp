// `sombrero bench conv`: the convolution passes of ResNet-50 / ResNet-18, hand-written and
// cuDNN side by side on the GPU, or the CPU backend against OpenBLAS sgemm (--cpu).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <ostream>

#include "benchmarks/benchmarks.h"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/resnet_conv_shapes.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "runtime/generator.h"
#include "runtime/tensor.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include "benchmarks/bench_kernels.h"
#endif
#if defined(SOMBRERO_HAVE_CUDNN)
#include "kernels/conv/conv2d_cudnn.h"
#endif

namespace sombrero::benchmarks {

namespace {

using kernels::Conv2dParams;
using kernels::Conv2dShape;
using kernels::ConvAlgo;
using runtime::Device;
using runtime::DType;
using runtime::Shape;

constexpr const char* kPasses[3] = {"forward", "backward_data", "backward_filter"};

std::vector<kernels::NamedConvShape> shapes_of(const ConvBenchOptions& options) {
  SOMBRERO_CHECK(options.batch >= 1, "--batch must be at least 1, got ", options.batch);
  std::vector<kernels::NamedConvShape> all;
  if (options.model == "resnet50")
    all = kernels::resnet50_conv_shapes(options.batch);
  else if (options.model == "resnet18")
    all = kernels::resnet18_conv_shapes(options.batch);
  else
    SOMBRERO_FAIL("unknown model '", options.model, "' for bench conv: resnet50 or resnet18");
  std::vector<kernels::NamedConvShape> chosen;
  for (const auto& s : all)
    if (s.name.find(options.filter) != std::string::npos) chosen.push_back(s);
  SOMBRERO_CHECK(!chosen.empty(), "no ", options.model, " convolution matches --filter '",
                 options.filter, "'");
  return chosen;
}

Conv2dParams params_of(const Conv2dShape& s, ConvAlgo algo) {
  return Conv2dParams::of(s, algo);
}

Shape x_shape(const Conv2dShape& s) {
  return {s.batch, s.in_height, s.in_width, s.in_channels};
}
Shape w_shape(const Conv2dShape& s) {
  return {s.out_channels, s.kernel_h, s.kernel_w, s.in_channels};
}
Shape y_shape(const Conv2dShape& s) {
  return {s.batch, s.out_height(), s.out_width(), s.out_channels};
}

// "56x56x64 > 64 3x3/1" (input H x W x C, output channels, kernel / stride).
std::string geometry(const Conv2dShape& s) {
  return str(s.in_height, "x", s.in_width, "x", s.in_channels, " > ", s.out_channels, " ",
             s.kernel_h, "x", s.kernel_w, "/", s.stride_h);
}

// Runs pass `pass` of algorithm `algo` into `out` (y, dx or dw).
void run_pass(int pass, const Conv2dShape& s, ConvAlgo algo, const Tensor& x, const Tensor& w,
              const Tensor& dy, Tensor& out) {
  const Conv2dParams p = params_of(s, algo);
  if (pass == 0)
    kernels::conv2d_forward(x, w, out, p);
  else if (pass == 1)
    kernels::conv2d_backward_data(dy, w, out, p);
  else
    kernels::conv2d_backward_filter(x, dy, out, p, false);
}

#if defined(SOMBRERO_HAVE_CUDA)
// max |a - b| / max |b| on the device.
double relative_difference(const Tensor& a, const Tensor& b) {
  Tensor result = Tensor::empty({2}, DType::f32, a.device());
  if (a.dtype() == DType::f32)
    cuda::max_abs_difference(a.data<float>(), b.data<float>(), a.numel(), result.data<float>(),
                             a.stream());
  else
    cuda::max_abs_difference(a.data<bf16>(), b.data<bf16>(), a.numel(), result.data<float>(),
                             a.stream());
  const std::vector<float> r = result.to_floats();
  return double(r[0]) / std::max(double(r[1]), 1e-30);
}
#endif

[[maybe_unused]] double geometric_mean(const std::vector<double>& values) {
  double log_sum = 0;
  int count = 0;
  for (double v : values)
    if (std::isfinite(v) && v > 0) {
      log_sum += std::log(v);
      ++count;
    }
  return count ? std::exp(log_sum / count) : NAN;
}

}  // namespace

void bench_conv([[maybe_unused]] const ConvBenchOptions& options, [[maybe_unused]] Report& report,
                [[maybe_unused]] std::ostream& out) {
#if !defined(SOMBRERO_HAVE_CUDA)
  SOMBRERO_FAIL("bench conv on the GPU needs the CUDA backend; use --cpu");
#else
  const bool have_hand = kernels::hand_conv2d_available();
#if defined(SOMBRERO_HAVE_CUDNN)
  const bool have_cudnn = true;
#else
  const bool have_cudnn = false;
#endif
  SOMBRERO_CHECK(have_hand || have_cudnn,
                 "bench conv: this build has neither the hand-written kernels nor cuDNN");
  const auto shapes = shapes_of(options);
  const DType dtype = options.precision;
  const Device gpu = Device::cuda(options.timing.device);
  const char* precision = runtime::dtype_name(dtype);
  // bf16 also on the wgmma tile (conv.algo wgmma), where this device can run it.
  const std::string no_wgmma = dtype != DType::bf16 ? std::string("the wgmma tile is bf16 only")
                               : !have_hand         ? std::string("no hand-written kernels")
                                                    : runtime::wgmma_unavailable_reason();
  const bool have_wgmma = no_wgmma.empty();
  Table table(out,
              str("conv: ", options.model, " unique shapes, batch ", options.batch, ", ", precision,
                  " (dw f32), median of ", options.timing.iters, " after ", options.timing.warmup,
                  " warm-up runs"),
              {{"shape", 20},
               {"H x W x C > K RxS/stride", 24},
               {"pass", 15},
               {"hand ms", 9},
               {"hand TF/s", 9},
               {"cuDNN ms", 9},
               {"cuDNN TF/s", 10},
               {"hand/cuDNN", 10},
               {"max err", 9},
               {"wgmma ms", 9},
               {"wgmma/cuDNN", 11}});
  if (!have_hand) table.note("the hand-written kernels are not built in yet: cuDNN alone");
  if (!have_wgmma) table.note(str("no wgmma column: ", no_wgmma));
  if (!have_cudnn) table.note("this build has no cuDNN: hand-written kernels alone");

  // The stem's backward_data is timed (a user may call it) but left out of the summary, which
  // is about training: a model never computes its input image's gradient
  // (layers/model.cpp turns it off for the first convolution).
  const auto in_training = [](const kernels::NamedConvShape& named, int pass) {
    return !(pass == 1 && named.name == "conv1");
  };
  bool left_out = false;
  std::vector<double> ratios[3], wgmma_ratios[3];
  double wgmma_total[3] = {0, 0, 0};
  double hand_total[3] = {0, 0, 0}, cudnn_total[3] = {0, 0, 0};
  runtime::Generator generator(2024);
  for (const auto& named : shapes) {
    const Conv2dShape& s = named.shape;
    Tensor x = Tensor::empty(x_shape(s), dtype, gpu);
    Tensor w = Tensor::empty(w_shape(s), dtype, gpu);
    Tensor dy = Tensor::empty(y_shape(s), dtype, gpu);
    x.fill_normal(generator);
    w.fill_normal(generator, 0.0f,
                  1.0f / std::sqrt(float(s.kernel_h * s.kernel_w * s.in_channels)));
    dy.fill_normal(generator);
    const double flops = 2.0 * s.macs();
    for (int pass = 0; pass < 3; ++pass) {
      const bool summed = in_training(named, pass);
      left_out = left_out || !summed;
      const Shape out_shape = pass == 0 ? y_shape(s) : pass == 1 ? x_shape(s) : w_shape(s);
      const DType out_dtype = pass == 2 ? DType::f32 : dtype;
      Tensor hand_out, cudnn_out;
      double hand_ms = NAN, cudnn_ms = NAN, error = NAN;
      std::string cudnn_algorithm;
      auto time_algo = [&](ConvAlgo algo, Tensor& result) -> double {
        try {
          result = Tensor::full(out_shape, NAN, out_dtype, gpu);  // poisoned
          run_pass(pass, s, algo, x, w, dy, result);              // checked run first
          return median_cuda_ms(options.timing, x.stream(),
                                [&] { run_pass(pass, s, algo, x, w, dy, result); });
        } catch (const Error& e) {
          table.note(str(named.name, " ", kPasses[pass], " ", to_string(algo), ": ", e.what()));
          report.note(str(named.name, " ", kPasses[pass], " ", to_string(algo), ": ", e.what()));
          result = Tensor();
          return NAN;
        }
      };
      if (have_cudnn) cudnn_ms = time_algo(ConvAlgo::cudnn, cudnn_out);
      if (have_hand) hand_ms = time_algo(ConvAlgo::hand, hand_out);
      double wgmma_ms = NAN, wgmma_error = NAN;
      if (have_wgmma) {
        Tensor wgmma_out;
        wgmma_ms = time_algo(ConvAlgo::wgmma, wgmma_out);
        const Tensor& baseline = cudnn_out.defined() ? cudnn_out : hand_out;
        if (wgmma_out.defined() && baseline.defined())
          wgmma_error = relative_difference(wgmma_out, baseline);
        if (summed && std::isfinite(wgmma_ms)) wgmma_total[pass] += wgmma_ms;
        if (summed && std::isfinite(cudnn_ms / wgmma_ms))
          wgmma_ratios[pass].push_back(cudnn_ms / wgmma_ms);
      }
      if (hand_out.defined() && cudnn_out.defined()) {
        // The last timed run of each wrote its output from the same inputs: compare them.
        error = relative_difference(hand_out, cudnn_out);
      }
#if defined(SOMBRERO_HAVE_CUDNN)
      if (cudnn_out.defined())
        cudnn_algorithm = kernels::cudnn::conv2d_algorithm_name(
            kPasses[pass], s, dtype == DType::bf16, options.timing.device);
#endif
      const double ratio = cudnn_ms / hand_ms;  // > 1: hand-written is faster
      if (summed && std::isfinite(ratio)) ratios[pass].push_back(ratio);
      if (summed && std::isfinite(hand_ms)) hand_total[pass] += hand_ms;
      if (summed && std::isfinite(cudnn_ms)) cudnn_total[pass] += cudnn_ms;
      const double hand_tflops = flops / (hand_ms * 1e9), cudnn_tflops = flops / (cudnn_ms * 1e9);
      table.row({named.name, geometry(s), kPasses[pass], fixed(hand_ms, 3), fixed(hand_tflops, 1),
                 fixed(cudnn_ms, 3), fixed(cudnn_tflops, 1), fixed(ratio, 2),
                 std::isnan(error) ? "-" : str(std::scientific, std::setprecision(1), error),
                 std::isnan(wgmma_ms) ? "-" : fixed(wgmma_ms, 3),
                 std::isnan(wgmma_ms) ? "-" : fixed(cudnn_ms / wgmma_ms, 2)});
      report.add({{"bench", "conv"},
                  {"model", options.model},
                  {"shape", named.name},
                  {"geometry", s.to_string()},
                  {"precision", precision},
                  {"pass", kPasses[pass]},
                  {"flops", flops},
                  {"hand_ms", hand_ms},
                  {"hand_tflops", hand_tflops},
                  {"cudnn_ms", cudnn_ms},
                  {"cudnn_tflops", cudnn_tflops},
                  {"cudnn_algorithm", cudnn_algorithm},
                  {"hand_over_cudnn", ratio},
                  {"max_relative_difference", error},
                  {"wgmma_ms", wgmma_ms},
                  {"wgmma_over_cudnn", cudnn_ms / wgmma_ms},
                  {"wgmma_max_relative_difference", wgmma_error},
                  {"in_summary", summed}});
    }
  }
  Table summary(out, "conv summary: geometric mean of hand/cuDNN per pass (> 1: hand faster)",
                {{"pass", 15},
                 {"geomean", 8},
                 {"min", 6},
                 {"shapes", 6},
                 {"hand ms (sum)", 13},
                 {"cuDNN ms (sum)", 14}});
  if (left_out) {
    const char* why =
        "conv1 backward_data left out (timed above): training never computes the image's "
        "gradient";
    summary.note(why);
    report.note(why);
  }
  for (int pass = 0; pass < 3; ++pass) {
    const double mean = geometric_mean(ratios[pass]);
    const double worst =
        ratios[pass].empty() ? NAN : *std::min_element(ratios[pass].begin(), ratios[pass].end());
    summary.row({kPasses[pass], fixed(mean, 2), fixed(worst, 2),
                 std::to_string(ratios[pass].size()), fixed(hand_total[pass], 2),
                 fixed(cudnn_total[pass], 2)});
    report.add({{"bench", "conv_summary"},
                {"model", options.model},
                {"precision", precision},
                {"batch", options.batch},
                {"pass", kPasses[pass]},
                {"geomean_hand_over_cudnn", mean},
                {"min_hand_over_cudnn", worst},
                {"hand_ms_total", hand_total[pass]},
                {"cudnn_ms_total", cudnn_total[pass]}});
  }
  for (int pass = 0; pass < 3 && have_wgmma; ++pass) {
    const std::vector<double>& r = wgmma_ratios[pass];
    const double mean = geometric_mean(r);
    const double worst = r.empty() ? NAN : *std::min_element(r.begin(), r.end());
    summary.row({str(kPasses[pass], " wgmma"), fixed(mean, 2), fixed(worst, 2),
                 std::to_string(r.size()), fixed(wgmma_total[pass], 2),
                 fixed(cudnn_total[pass], 2)});
    report.add({{"bench", "conv_summary"},
                {"model", options.model},
                {"precision", precision},
                {"batch", options.batch},
                {"pass", str(kPasses[pass], "_wgmma")},
                {"geomean_hand_over_cudnn", mean},
                {"min_hand_over_cudnn", worst},
                {"hand_ms_total", wgmma_total[pass]},
                {"cudnn_ms_total", cudnn_total[pass]}});
  }
#endif
}

void bench_conv_cpu(const ConvBenchOptions& options, Report& report, std::ostream& out) {
  const auto shapes = shapes_of(options);
  Table table(out,
              str("conv --cpu: ", options.model, " unique shapes, batch ", options.batch,
                  ", f32, CPU backend (im2col + OpenBLAS, OpenMP over the batch) against one "
                  "OpenBLAS sgemm of the same M, N, K; median of ",
                  options.timing.iters, " after ", options.timing.warmup, " warm-up runs"),
              {{"shape", 20},
               {"H x W x C > K RxS/stride", 24},
               {"pass", 15},
               {"M", 9},
               {"N", 6},
               {"K", 9},
               {"conv ms", 10},
               {"conv GF/s", 9},
               {"sgemm ms", 10},
               {"sgemm GF/s", 10},
               {"conv/sgemm", 10}});
  runtime::Generator generator(2024);
  for (const auto& named : shapes) {
    const Conv2dShape& s = named.shape;
    Tensor x = Tensor::empty(x_shape(s)), w = Tensor::empty(w_shape(s)),
           dy = Tensor::empty(y_shape(s));
    x.fill_normal(generator);
    w.fill_normal(generator);
    dy.fill_normal(generator);
    const long long pixels = static_cast<long long>(s.batch) * s.out_height() * s.out_width();
    const long long taps = static_cast<long long>(s.kernel_h) * s.kernel_w * s.in_channels;
    // The GEMM each pass amounts to: forward y[P, K] = col[P, RSC] w^T; backward-data
    // dcol[P, RSC] = dy[P, K] w; backward-filter dw[K, RSC] = dy^T col.
    const long long gemm[3][3] = {{pixels, s.out_channels, taps},
                                  {pixels, taps, s.out_channels},
                                  {s.out_channels, taps, pixels}};
    const double flops = 2.0 * s.macs();
    for (int pass = 0; pass < 3; ++pass) {
      const long long M = gemm[pass][0], N = gemm[pass][1], K = gemm[pass][2];
      Tensor result = Tensor::empty(pass == 0 ? y_shape(s) : pass == 1 ? x_shape(s) : w_shape(s));
      const double conv_ms = median_cpu_ms(
          options.timing, [&] { run_pass(pass, s, ConvAlgo::hand, x, w, dy, result); });
      Tensor a = Tensor::empty({M, K}), b = Tensor::empty({K, N}), c = Tensor::empty({M, N});
      a.fill_normal(generator);
      b.fill_normal(generator);
      const double sgemm_ms = median_cpu_ms(options.timing, [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), int(N), int(K), 1.0f,
                    a.data<float>(), int(K), b.data<float>(), int(N), 0.0f, c.data<float>(),
                    int(N));
      });
      const double conv_gflops = flops / (conv_ms * 1e6), sgemm_gflops = flops / (sgemm_ms * 1e6);
      table.row({named.name, geometry(s), kPasses[pass], std::to_string(M), std::to_string(N),
                 std::to_string(K), fixed(conv_ms, 3), fixed(conv_gflops, 1), fixed(sgemm_ms, 3),
                 fixed(sgemm_gflops, 1), fixed(conv_gflops / sgemm_gflops, 2)});
      report.add({{"bench", "conv_cpu"},
                  {"model", options.model},
                  {"shape", named.name},
                  {"geometry", s.to_string()},
                  {"precision", "f32"},
                  {"pass", kPasses[pass]},
                  {"gemm_m", M},
                  {"gemm_n", N},
                  {"gemm_k", K},
                  {"flops", flops},
                  {"conv_ms", conv_ms},
                  {"conv_gflops", conv_gflops},
                  {"sgemm_ms", sgemm_ms},
                  {"sgemm_gflops", sgemm_gflops}});
    }
  }
}

}  // namespace sombrero::benchmarks
