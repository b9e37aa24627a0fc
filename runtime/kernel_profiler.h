// A per-kernel timer for `sombrero bench train-step --profile`, our own small nsys: while it
// is on, every SOMBRERO_LAUNCH is bracketed by CUDA events on its stream (in the SIMT build,
// by host clock readings, the launch running on the CPU) and tagged with the scope path
// current on the launching thread ("backward/layer3/2": Model::forward/backward, the
// children of a Sequential, the bench's step phases). Library calls that launch their own
// kernels (cuBLAS, cuDNN) are timed as one record each where they are called.
//
//   kernel_profiler::start();
//   ... launches ...
//   for (const KernelTime& t : kernel_profiler::stop()) ...   // waits for them, launch order
//
// Off by default: a launch then costs one relaxed atomic load. Records are kept in memory
// until stop(), so profile a few steps, not a run.
#pragma once

#include <atomic>
#include <string>
#include <vector>

namespace sombrero::runtime::kernel_profiler {

struct KernelTime {
  std::string kernel;  // the launch's kernel expression, e.g. "(affine_kernel<T, 1>)"
  std::string site;    // "batch_norm.cu:367"
  std::string scope;   // "forward/layer1/0", "" outside any scope
  double ms = 0.0;     // device time (CUDA events), or host time of a SIMT launch
};

namespace detail {
extern std::atomic<bool> g_on;
}  // namespace detail

inline bool on() {
  return detail::g_on.load(std::memory_order_relaxed);
}

// Starts recording (forgetting earlier records). Not reentrant: one profile at a time.
void start();
// Stops recording, waits for every recorded device launch to finish, returns their times.
std::vector<KernelTime> stop();

// One launch (or library call) being timed: construct just before it, destroy just after.
// `stream` is its cudaStream_t (as void*); `on_device` false for a SIMT launch (host clock).
class Launch {
 public:
  Launch(const char* kernel, const char* file, int line, void* stream, bool on_device);
  ~Launch();
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;

 private:
  long record_ = -1;  // index into the records, -1 when not recording
  void* stream_ = nullptr;
};

// Names a scope for the launches inside it, nested by '/'. Does nothing while off.
class Scope {
 public:
  explicit Scope(const std::string& name);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool pushed_ = false;
};

}  // namespace sombrero::runtime::kernel_profiler
