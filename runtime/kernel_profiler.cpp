#include "runtime/kernel_profiler.h"

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "runtime/error.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include <cuda_runtime.h>

#include "runtime/cuda_check.h"
#endif

namespace sombrero::runtime::kernel_profiler {

namespace detail {
std::atomic<bool> g_on{false};
}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

struct Record {
  KernelTime time;
  bool on_device = false;
  Clock::time_point host_start;
#if defined(SOMBRERO_HAVE_CUDA)
  int device = 0;
  cudaEvent_t start = nullptr;
  cudaEvent_t end = nullptr;
#endif
};

struct State {
  std::mutex mutex;
  std::vector<Record> records;
#if defined(SOMBRERO_HAVE_CUDA)
  std::map<int, std::vector<cudaEvent_t>> free_events;  // per device, reused across profiles

  cudaEvent_t take_event(int device) {
    std::vector<cudaEvent_t>& pool = free_events[device];
    if (!pool.empty()) {
      cudaEvent_t event = pool.back();
      pool.pop_back();
      return event;
    }
    cudaEvent_t event = nullptr;
    SOMBRERO_CHECK_CUDA(cudaEventCreate(&event));
    return event;
  }
#endif
};

State& state() {
  static State* s = new State();  // never destroyed: launches may outlive static destruction
  return *s;
}

thread_local std::vector<std::string> t_scopes;

std::string scope_path() {
  std::string path;
  for (const std::string& s : t_scopes) {
    if (!path.empty()) path += '/';
    path += s;
  }
  return path;
}

std::string site_of(const char* file, int line) {
  const char* slash = std::strrchr(file, '/');
  return str(slash != nullptr ? slash + 1 : file, ":", line);
}

}  // namespace

void start() {
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    SOMBRERO_CHECK(!detail::g_on.load(), "kernel_profiler::start: a profile is already running");
    s.records.clear();
  }
  detail::g_on.store(true);
}

std::vector<KernelTime> stop() {
  detail::g_on.store(false);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::vector<KernelTime> times;
  times.reserve(s.records.size());
  for (Record& r : s.records) {
#if defined(SOMBRERO_HAVE_CUDA)
    if (r.on_device) {
      SOMBRERO_CHECK_CUDA(cudaEventSynchronize(r.end));
      float ms = 0.0f;
      SOMBRERO_CHECK_CUDA(cudaEventElapsedTime(&ms, r.start, r.end));
      r.time.ms = ms;
      s.free_events[r.device].push_back(r.start);
      s.free_events[r.device].push_back(r.end);
    }
#endif
    times.push_back(std::move(r.time));
  }
  s.records.clear();
  return times;
}

Launch::Launch(const char* kernel, const char* file, int line, void* stream, bool on_device)
    : stream_(stream) {
  if (!on()) return;
  State& s = state();
  Record r;
  r.time.kernel = kernel;
  r.time.site = site_of(file, line);
  r.time.scope = scope_path();
  r.on_device = on_device;
#if defined(SOMBRERO_HAVE_CUDA)
  if (on_device) {
    SOMBRERO_CHECK_CUDA(cudaGetDevice(&r.device));
    std::lock_guard<std::mutex> lock(s.mutex);
    r.start = s.take_event(r.device);
    r.end = s.take_event(r.device);
    SOMBRERO_CHECK_CUDA(cudaEventRecord(r.start, static_cast<cudaStream_t>(stream)));
    record_ = long(s.records.size());
    s.records.push_back(std::move(r));
    return;
  }
#else
  SOMBRERO_CHECK(!on_device, "kernel_profiler: a device launch in a build without CUDA");
#endif
  r.host_start = Clock::now();
  std::lock_guard<std::mutex> lock(s.mutex);
  record_ = long(s.records.size());
  s.records.push_back(std::move(r));
}

Launch::~Launch() {
  if (record_ < 0) return;
  const Clock::time_point now = Clock::now();
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (std::size_t(record_) >= s.records.size()) return;  // stop() ran meanwhile
  Record& r = s.records[std::size_t(record_)];
#if defined(SOMBRERO_HAVE_CUDA)
  if (r.on_device) {
    // No throwing from a destructor: a failed record shows as a failed stop().
    cudaEventRecord(r.end, static_cast<cudaStream_t>(stream_));
    return;
  }
#endif
  r.time.ms = std::chrono::duration<double, std::milli>(now - r.host_start).count();
}

Scope::Scope(const std::string& name) {
  if (!on()) return;
  t_scopes.push_back(name);
  pushed_ = true;
}

Scope::~Scope() {
  if (pushed_) t_scopes.pop_back();
}

}  // namespace sombrero::runtime::kernel_profiler
