// The routines behind `sombrero bench` (trainer/cli/bench_command.cpp): hand-written kernels
// beside cuDNN and the device's copy bandwidth, on the shapes the project trains. Each prints
// its tables to `out` as rows are measured and adds every row to the report (--json).
// GPU routines expect a CUDA device (the command checks first and says so when there is none).
// docs/benchmarks.md explains what each column means.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "benchmarks/bench_report.h"
#include "runtime/dtype.h"

namespace sombrero::benchmarks {

struct ConvBenchOptions {
  BenchOptions timing;
  std::string model = "resnet50";  // resnet50 | resnet18: its unique conv shapes at 224x224
  int batch = 256;
  runtime::DType precision = runtime::DType::bf16;
  std::string filter;  // only shapes whose name contains this text ("" = all)
};

// Forward, backward-data and backward-filter of every shape, hand-written and cuDNN side by
// side (whichever this build has): median time, TFLOP/s, the speed ratio hand/cuDNN, and the
// largest difference of the two outputs relative to the largest cuDNN output; then the
// geometric mean of the ratio per pass.
void bench_conv(const ConvBenchOptions& options, Report& report, std::ostream& out);

// The CPU backend (f32) on the same shapes against one OpenBLAS sgemm of the same M, N, K
// per pass, in GFLOP/s.
void bench_conv_cpu(const ConvBenchOptions& options, Report& report, std::ostream& out);

struct U1BenchOptions {
  BenchOptions timing;
  int batch = 256;  // the ResNet-50 bottleneck: 7x7x2048, 1000 classes
  int height = 7, width = 7, channels = 2048, classes = 1000;
  std::vector<runtime::DType> precisions = {runtime::DType::bf16, runtime::DType::f32};
};

// Energy forward and backward: GB/s (each input read once, each output written once) against
// a device-to-device copy of the same bytes measured in the same run.
void bench_energy(const U1BenchOptions& options, Report& report, std::ostream& out);

// The fused one-hot + U(1) loss (forward and backward) in GB/s against copy bandwidth, and
// against the same work unfused: the CE-only launch of the loss kernel, the energy kernel, a
// U(1) moments kernel and a U(1) gradient kernel (benchmarks/bench_kernels.cu); outputs of
// the two paths cross-checked.
void bench_loss(const U1BenchOptions& options, Report& report, std::ostream& out);

struct MemoryBenchOptions {
  BenchOptions timing;
  int batch = 256;
  std::vector<runtime::DType> precisions = {runtime::DType::bf16};
  std::string filter;  // only rows whose kernel, stage or shape contains this text ("" = all)
  bool simt = false;   // tiny shapes through the SIMT execution on the CPU (CPU-emulation times)
};

// The memory-bound layer kernels of a ResNet-50 step (BatchNorm training forward/backward,
// ReLU forward/backward, add, add_inplace on the activation shapes; 3x3/2 max pool on the
// stem's output; global average pool on layer4's): GB/s of the compulsory bytes and of the
// kernel's own floor, against a device-to-device copy of the same bytes; BatchNorm beside
// cuDNN's (time, cuDNN/ours). Every output is checked before it is timed: BatchNorm against
// cuDNN (or the CPU backend), the rest against the CPU backend.
void bench_memory(const MemoryBenchOptions& options, Report& report, std::ostream& out);

}  // namespace sombrero::benchmarks
