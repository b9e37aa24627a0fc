// `sombrero bench allreduce`: the all-reduce of the current launch's communicator (NCCL on
// CUDA devices; MPI or TCP on the CPU) over buffer sizes doubling from min to max bytes,
// reported like nccl-tests: time, algorithm bandwidth and bus bandwidth.
#pragma once

#include <cstddef>
#include <iosfwd>

#include "benchmarks/bench_report.h"
#include "runtime/communicator.h"
#include "runtime/dtype.h"

namespace sombrero::benchmarks {

struct AllReduceBenchOptions {
  BenchOptions timing;
  std::size_t min_bytes = std::size_t{1} << 10;  // 1 KB
  std::size_t max_bytes = std::size_t{1} << 30;  // 1 GB
  runtime::Device device;                        // where the f32 buffers live
};

// Every rank runs it (the collectives need them all); rank 0 prints and records the rows.
// Per size: one checked all-reduce (rank r contributes r + 1, every element must become
// n (n + 1) / 2 on every rank), then `warmup` untimed and `iters` timed ones, each after a
// barrier. time: the median over iterations, averaged over ranks. algbw = bytes / time;
// busbw = algbw * 2 (n - 1) / n, the bytes each rank's link carries in a ring all-reduce,
// so busbw compares with the link's bandwidth whatever n is. Throws when a sum is wrong.
void bench_allreduce(const AllReduceBenchOptions& options, runtime::Communicator& comm,
                     Report& report, std::ostream& out);

// "1 KB", "256 MB", "1 GB" (binary units), or "<n> B".
std::string byte_size_text(std::size_t bytes);
// The inverse, also accepting "4096", "64K", "1mb": a count of bytes, binary units.
std::size_t parse_byte_size(const std::string& text);

}  // namespace sombrero::benchmarks
