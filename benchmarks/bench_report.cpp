#include "benchmarks/bench_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

#include "git_commit.h"  // generated: SOMBRERO_GIT_COMMIT
#include "runtime/error.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include <cuda_runtime.h>

#include "runtime/cuda_check.h"
#include "runtime/cuda_context.h"
#include "runtime/device_info.h"
#endif

#ifndef SOMBRERO_GIT_COMMIT
#define SOMBRERO_GIT_COMMIT "unknown"
#endif

namespace sombrero::benchmarks {

Table::Table(std::ostream& out, std::string title, std::vector<Column> columns)
    : out_(out), columns_(std::move(columns)) {
  out_ << "\n" << title << "\n";
  std::string rule;
  for (const Column& c : columns_) {
    out_ << std::right << std::setw(c.width) << c.header << " ";
    rule += std::string(std::size_t(c.width), '-') + " ";
  }
  out_ << "\n" << rule << "\n";
}

void Table::row(const std::vector<std::string>& cells) {
  for (std::size_t i = 0; i < columns_.size(); ++i)
    out_ << std::right << std::setw(columns_[i].width) << (i < cells.size() ? cells[i] : "") << " ";
  out_ << std::endl;  // rows appear as they are measured
}

void Table::note(const std::string& text) {
  out_ << "  " << text << std::endl;
}

Report::Report(std::string command_line) : command_line_(std::move(command_line)) {}

nlohmann::json Report::to_json() const {
  nlohmann::json out;
  out["command"] = command_line_;
  out["device"] = device_;
  out["date"] = utc_date();
  out["commit"] = git_commit();
  out["sombrero"] = SOMBRERO_VERSION;
  out["rows"] = rows_;
  out["notes"] = notes_;
  return out;
}

void Report::write_json(const std::string& path) const {
  std::ofstream file(path);
  SOMBRERO_CHECK(file, "cannot write the benchmark results to '", path, "'");
  file << to_json().dump(2) << "\n";
  SOMBRERO_CHECK(file, "writing the benchmark results to '", path, "' failed");
}

std::string git_commit() {
  return SOMBRERO_GIT_COMMIT;
}

std::string utc_date() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::ostringstream out;
  out << std::put_time(&utc, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

double median(std::vector<double> values) {
  SOMBRERO_CHECK(!values.empty(), "median of no values");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

L2Flush::L2Flush([[maybe_unused]] int device, cudaStream_t stream) : stream_(stream) {
#if defined(SOMBRERO_HAVE_CUDA)
  const auto devices = runtime::cuda_devices();
  const std::size_t l2 = device < int(devices.size()) && devices[std::size_t(device)].l2_bytes > 0
                             ? std::size_t(devices[std::size_t(device)].l2_bytes)
                             : std::size_t(64) << 20;
  buffer_ = runtime::Tensor::empty({std::int64_t(2 * l2 / 4)}, runtime::DType::f32,
                                   runtime::Device::cuda(device));
#else
  SOMBRERO_FAIL("an L2 flush needs the CUDA backend, which this build does not have");
#endif
}

void L2Flush::operator()() const {
#if defined(SOMBRERO_HAVE_CUDA)
  SOMBRERO_CHECK_CUDA(cudaMemsetAsync(buffer_.raw_data(), 0, buffer_.bytes(), stream_));
#endif
}

double device_copy_ms(const BenchOptions& options, std::size_t bytes, const L2Flush& flush) {
  const runtime::Device gpu = runtime::Device::cuda(options.device);
  runtime::Tensor source =
      runtime::Tensor::zeros({std::int64_t((bytes + 3) / 4)}, runtime::DType::f32, gpu);
  runtime::Tensor target = runtime::Tensor::empty(source.shape(), runtime::DType::f32, gpu);
  [[maybe_unused]] cudaStream_t stream = source.stream();
  return median_cuda_ms(
      options, stream,
      [&] {
#if defined(SOMBRERO_HAVE_CUDA)
        SOMBRERO_CHECK_CUDA(cudaMemcpyAsync(target.raw_data(), source.raw_data(), bytes,
                                            cudaMemcpyDeviceToDevice, stream));
#endif
      },
      flush);
}

double median_cuda_ms([[maybe_unused]] const BenchOptions& options,
                      [[maybe_unused]] cudaStream_t stream,
                      [[maybe_unused]] const std::function<void()>& run,
                      [[maybe_unused]] const std::function<void()>& before_each) {
#if defined(SOMBRERO_HAVE_CUDA)
  SOMBRERO_CHECK(options.iters >= 1, "--iters must be at least 1, got ", options.iters);
  for (int i = 0; i < options.warmup; ++i) run();
  std::vector<std::unique_ptr<runtime::Event>> starts, ends;
  for (int i = 0; i < options.iters; ++i) {
    starts.push_back(std::make_unique<runtime::Event>(options.device));
    ends.push_back(std::make_unique<runtime::Event>(options.device));
  }
  std::vector<double> ms;
  for (int i = 0; i < options.iters; ++i) {
    if (before_each) before_each();
    starts[std::size_t(i)]->record(stream);
    run();
    ends[std::size_t(i)]->record(stream);
  }
  for (int i = 0; i < options.iters; ++i)
    ms.push_back(runtime::Event::elapsed_ms(*starts[std::size_t(i)], *ends[std::size_t(i)]));
  return median(ms);
#else
  SOMBRERO_FAIL("CUDA timing needs the CUDA backend, which this build does not have");
#endif
}

int rotation_copies([[maybe_unused]] int device, double bytes_per_call) {
  double l2 = double(std::size_t(64) << 20);
#if defined(SOMBRERO_HAVE_CUDA)
  const auto devices = runtime::cuda_devices();
  if (device < int(devices.size()) && devices[std::size_t(device)].l2_bytes > 0)
    l2 = double(devices[std::size_t(device)].l2_bytes);
#endif
  const double copies = std::ceil(3.0 * l2 / std::max(bytes_per_call, 1.0));
  return int(std::clamp(copies, 2.0, 64.0));
}

double median_cuda_ms_per_call([[maybe_unused]] const BenchOptions& options,
                               [[maybe_unused]] cudaStream_t stream, int copies,
                               const std::function<void(int)>& run) {
  SOMBRERO_CHECK(copies >= 1, "steady-state timing needs at least one copy, got ", copies);
  const auto sweep = [&] {
    for (int i = 0; i < copies; ++i) run(i);
  };
  return median_cuda_ms(options, stream, sweep) / copies;
}

double device_copy_ms_per_call(const BenchOptions& options, std::size_t bytes, int copies) {
  const runtime::Device gpu = runtime::Device::cuda(options.device);
  std::vector<runtime::Tensor> sources, targets;
  for (int i = 0; i < copies; ++i) {
    sources.push_back(
        runtime::Tensor::zeros({std::int64_t((bytes + 3) / 4)}, runtime::DType::f32, gpu));
    targets.push_back(runtime::Tensor::empty(sources.back().shape(), runtime::DType::f32, gpu));
  }
  [[maybe_unused]] cudaStream_t stream = sources.front().stream();
  return median_cuda_ms_per_call(options, stream, copies, [&]([[maybe_unused]] int i) {
#if defined(SOMBRERO_HAVE_CUDA)
    SOMBRERO_CHECK_CUDA(cudaMemcpyAsync(targets[std::size_t(i)].raw_data(),
                                        sources[std::size_t(i)].raw_data(), bytes,
                                        cudaMemcpyDeviceToDevice, stream));
#endif
  });
}

double median_cpu_ms(const BenchOptions& options, const std::function<void()>& run) {
  SOMBRERO_CHECK(options.iters >= 1, "--iters must be at least 1, got ", options.iters);
  for (int i = 0; i < options.warmup; ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < options.iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  return median(ms);
}

std::string fixed(double value, int digits) {
  if (std::isnan(value)) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

}  // namespace sombrero::benchmarks
