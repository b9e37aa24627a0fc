// `sombrero bench allreduce` (benchmarks/allreduce_bench.h). Host-timed with a steady clock:
// every backend's all_reduce_sum returns once the sum is complete on this rank (NCCL's waits
// for its stream), so the clock brackets the whole collective.
#include "benchmarks/allreduce_bench.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <sstream>

#include "runtime/error.h"
#include "runtime/tensor.h"

namespace sombrero::benchmarks {

namespace {

using Clock = std::chrono::steady_clock;

// Whether every element of `tensor` (any device) equals `expected`.
bool all_equal(const Tensor& tensor, float expected) {
  const Tensor host = tensor.is_cpu() ? tensor : tensor.to(runtime::Device::cpu());
  const float* values = host.data<float>();
  return std::all_of(values, values + host.numel(), [&](float v) { return v == expected; });
}

}  // namespace

std::string byte_size_text(std::size_t bytes) {
  constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  int unit = 0;
  while (unit < 4 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return str(bytes, " ", kUnits[unit]);
}

std::size_t parse_byte_size(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  for (char& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'B' && unit.size() == 2) unit.pop_back();
  const std::string units = "KMGT";
  const std::size_t shift = unit.empty() || unit == "B" ? 0 : 10 * (units.find(unit) + 1);
  SOMBRERO_CHECK(digits > 0 && digits < 12 && (unit.size() <= 1) &&
                     (unit.empty() || unit == "B" || units.find(unit) != std::string::npos),
                 "'", text, "' is not a size: write e.g. 4096, 64KB, 1MB or 1GB");
  return std::stoull(text.substr(0, digits)) << shift;
}

void bench_allreduce(const AllReduceBenchOptions& options, runtime::Communicator& comm,
                     Report& report, std::ostream& out) {
  SOMBRERO_CHECK(options.min_bytes >= 4 && options.min_bytes % 4 == 0 &&
                     options.max_bytes >= options.min_bytes,
                 "sizes must be whole f32 counts (multiples of 4 bytes) with min <= max; got ",
                 options.min_bytes, " .. ", options.max_bytes);
  const int n = comm.size();
  std::ostringstream discarded;  // ranks other than 0 measure but do not print
  std::ostream& print = comm.rank() == 0 ? out : discarded;
  Table table(print,
              str("all_reduce_sum, f32, ", n, " ranks, backend ", comm.backend(), ", ",
                  options.device.is_cuda() ? "cuda" : "cpu", " buffers"),
              {{"size", 10},
               {"count", 11},
               {"time us", 12},
               {"algbw GB/s", 11},
               {"busbw GB/s", 11},
               {"check", 6}});
  std::size_t wrong_at = 0;
  for (std::size_t bytes = options.min_bytes; bytes <= options.max_bytes; bytes *= 2) {
    const auto count = static_cast<std::int64_t>(bytes / 4);
    Tensor buffer = Tensor::full(runtime::Shape{count}, float(comm.rank() + 1), runtime::DType::f32,
                                 options.device);
    comm.all_reduce_sum(buffer);
    std::vector<double> wrong{all_equal(buffer, float(n) * float(n + 1) / 2.0f) ? 0.0 : 1.0};
    comm.all_reduce_sum(wrong);  // every rank learns whether any rank got a wrong sum
    buffer.fill(0.0f);
    const auto all_reduce = [&] { comm.all_reduce_sum(buffer); };
    for (int i = 0; i < options.timing.warmup; ++i) all_reduce();
    std::vector<double> times_us;
    for (int i = 0; i < options.timing.iters; ++i) {
      comm.barrier();
      const auto start = Clock::now();
      all_reduce();
      times_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    std::vector<double> time_us{median(times_us)};
    comm.all_reduce_sum(time_us);
    time_us[0] /= n;
    const double algbw = double(bytes) / (time_us[0] * 1e3);  // bytes/us / 1e3 = GB/s
    const double busbw = algbw * 2.0 * (n - 1) / n;
    const bool ok = wrong[0] == 0.0;
    if (!ok && wrong_at == 0) wrong_at = bytes;
    table.row({byte_size_text(bytes), std::to_string(count), fixed(time_us[0], 1), fixed(algbw, 3),
               fixed(busbw, 3), ok ? "ok" : "WRONG"});
    report.add({{"bench", "allreduce"},
                {"backend", comm.backend()},
                {"ranks", n},
                {"bytes", bytes},
                {"time_us", time_us[0]},
                {"algbw_gbs", algbw},
                {"busbw_gbs", busbw},
                {"correct", ok}});
    if (bytes > options.max_bytes / 2) break;  // no overflow past the largest size
  }
  table.note(
      "time: median of the timed runs, mean over ranks; algbw = size / time; busbw = "
      "algbw * 2(n-1)/n (what each rank's link carries in a ring), comparable with the "
      "link's bandwidth");
  SOMBRERO_CHECK(wrong_at == 0, "all_reduce_sum gave a wrong sum from ", byte_size_text(wrong_at),
                 " on: expected every element to be ", n * (n + 1) / 2, " on every rank");
}

}  // namespace sombrero::benchmarks
