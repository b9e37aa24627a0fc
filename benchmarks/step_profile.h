// The kernel-by-kernel profile of training steps (`sombrero bench train-step --profile`):
// where a step's time goes, by scope (forward/layer3, backward/conv1, loss, sgd, ...) and by
// kernel, and how much of it no kernel accounts for (the device idle while the host issues
// work, copies, memsets). Each profiled step is followed by a device synchronisation, so the
// host's issue time and the step's wall time are both measured; the throughput rows of
// bench train-step are measured without the profiler.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchmarks/bench_report.h"
#include "runtime/kernel_profiler.h"

namespace sombrero::benchmarks {

struct StepProfile {
  int steps = 0;
  double step_ms = 0.0;  // wall time per step, from its start to the device's finishing it
  double host_ms = 0.0;  // host time per step to issue it (until `step` returned)
  std::vector<runtime::kernel_profiler::KernelTime> launches;  // every step's, in order
};

// Runs `steps` calls of `step` under the kernel profiler, each followed by `wait` (which
// synchronises the device; a no-op on the CPU).
StepProfile profile_steps(int steps, const std::function<void()>& step,
                          const std::function<void()>& wait);

// Prints the profile: the totals, a table by scope (paths cut to `scope_depth` levels) and
// one of the `top` most expensive kernels (kernel expression and launch site); adds rows
// {"bench": "train-step-profile", ...row_base, "scope" | "kernel", ...} to `report`.
void print_step_profile(const StepProfile& profile, const std::string& title, int scope_depth,
                        int top, std::ostream& out, Report& report, const nlohmann::json& row_base);

// "forward/layer3/2/conv1" cut to `depth` levels ("forward/layer3" for 2).
std::string scope_prefix(const std::string& scope, int depth);

}  // namespace sombrero::benchmarks
