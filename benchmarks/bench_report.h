// What every `sombrero bench` routine shares: run options, timing (CUDA events after
// warm-up, median of the runs; a steady clock for the CPU), and the report: tables printed to
// stdout as their rows arrive, and every row kept for `--json FILE` together with the device,
// the date, the commit and the command line.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/stream_fwd.h"
#include "runtime/tensor.h"

namespace sombrero::benchmarks {

struct BenchOptions {
  int iters = 20;  // timed runs; the median is reported
  int warmup = 5;  // untimed runs first (caches, cuDNN/cuBLAS lazy set-up, clocks)
  int device = 0;  // CUDA device index
};

// One printed table: fixed-width columns, a header line, rows as they are added.
class Table {
 public:
  struct Column {
    std::string header;
    int width;
  };
  Table(std::ostream& out, std::string title, std::vector<Column> columns);
  void row(const std::vector<std::string>& cells);
  void note(const std::string& text);  // an indented line under the table

 private:
  std::ostream& out_;
  std::vector<Column> columns_;
};

// All rows of a run, for --json: {"command", "device", "date", "commit", "sombrero",
// "rows": [{"bench": "conv", ...}, ...], "notes": [...]}.
class Report {
 public:
  explicit Report(std::string command_line);
  void set_device(const std::string& name) { device_ = name; }
  void add(nlohmann::json row) { rows_.push_back(std::move(row)); }
  void note(const std::string& text) { notes_.push_back(text); }
  nlohmann::json to_json() const;
  void write_json(const std::string& path) const;  // throws sombrero::Error naming the path

 private:
  std::string command_line_, device_ = "cpu";
  std::vector<nlohmann::json> rows_;
  std::vector<std::string> notes_;
};

// The commit this binary was built from (12 hex digits, "-dirty" when tracked files had
// changes), or "unknown" outside a git checkout.
std::string git_commit();
// Now, UTC, ISO 8601 ("2026-01-31T12:00:00Z").
std::string utc_date();

// Median of `values` (the mean of the two middle ones for an even count).
double median(std::vector<double> values);

// Milliseconds of `run`: `warmup` untimed runs, then `iters` runs each between two CUDA
// events on `stream`; returns the median. `before_each`, when given, runs before every timed
// run outside the events (an L2 flush, a reset). CUDA builds only.
double median_cuda_ms(const BenchOptions& options, cudaStream_t stream,
                      const std::function<void()>& run,
                      const std::function<void()>& before_each = {});

// Run before each timed run: overwrites a buffer twice the size of the device's L2 (64 MB
// when unknown), so no run finds its inputs in the cache the previous one left. CUDA only.
class L2Flush {
 public:
  L2Flush(int device, cudaStream_t stream);
  void operator()() const;

 private:
  mutable runtime::Tensor buffer_;
  cudaStream_t stream_;
};

// Milliseconds (median, as median_cuda_ms) of a device-to-device cudaMemcpyAsync of `bytes`
// on device options.device, the L2 flushed before each: the copy-bandwidth baseline of the
// memory-bound benchmarks. CUDA only.
double device_copy_ms(const BenchOptions& options, std::size_t bytes, const L2Flush& flush);

// Steady-state timing, the other view of a memory-bound kernel: what a call costs in a
// stream of calls, as in a training step. A single run after an L2 flush (above) starts with
// the flush's dirty lines in L2 (up to the L2's size), which DRAM must take while the run
// reads; a kernel that moves about an L2's worth of bytes (ResNet-50's bottleneck in bf16,
// 51 MB, against 50 MB of L2 on an H100/H200) pays for them as if they were its own, while
// its own writes may stay in L2 past its end. Rotating through copies of the data instead,
// every call misses L2 for its inputs and pays the write-backs its predecessor left, as the
// next call will pay for its own; launch latency is paid once per sweep.
//
// Copies of a call's data to rotate through: together at least three times the device's L2
// (64 MB when unknown), at least 2, at most 64.
int rotation_copies(int device, double bytes_per_call);

// Milliseconds per call: run(0), ..., run(copies - 1) back to back between two events, a sweep
// timed `iters` times after `warmup` untimed sweeps; the median sweep divided by `copies`.
// CUDA builds only.
double median_cuda_ms_per_call(const BenchOptions& options, cudaStream_t stream, int copies,
                               const std::function<void(int)>& run);

// The copy baseline timed the same way: `copies` source and target buffers of `bytes`, one
// device-to-device cudaMemcpyAsync per call. CUDA only.
double device_copy_ms_per_call(const BenchOptions& options, std::size_t bytes, int copies);

// Milliseconds of `run` on the host (steady clock), median of `iters` after `warmup`.
double median_cpu_ms(const BenchOptions& options, const std::function<void()>& run);

// "1.234" with `digits` decimals; "-" for NaN.
std::string fixed(double value, int digits);

}  // namespace sombrero::benchmarks
