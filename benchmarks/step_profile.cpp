#include "benchmarks/step_profile.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <ostream>

#include "runtime/error.h"

namespace sombrero::benchmarks {

namespace kp = runtime::kernel_profiler;

StepProfile profile_steps(int steps, const std::function<void()>& step,
                          const std::function<void()>& wait) {
  SOMBRERO_CHECK(steps >= 1, "profile_steps: at least one step, got ", steps);
  using Clock = std::chrono::steady_clock;
  const auto ms_between = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  StepProfile profile;
  profile.steps = steps;
  wait();
  kp::start();
  try {
    for (int i = 0; i < steps; ++i) {
      const Clock::time_point start = Clock::now();
      step();
      const Clock::time_point issued = Clock::now();
      wait();
      profile.host_ms += ms_between(start, issued);
      profile.step_ms += ms_between(start, Clock::now());
    }
  } catch (...) {
    kp::stop();
    throw;
  }
  profile.launches = kp::stop();
  profile.host_ms /= steps;
  profile.step_ms /= steps;
  return profile;
}

std::string scope_prefix(const std::string& scope, int depth) {
  std::size_t end = 0;
  for (int level = 0; level < depth; ++level) {
    end = scope.find('/', level == 0 ? 0 : end + 1);
    if (end == std::string::npos) return scope;
  }
  return scope.substr(0, end);
}

namespace {

struct Sum {
  double ms = 0.0;
  long launches = 0;
  std::size_t first = 0;  // order of first appearance
};

// Sums by key, in order of first appearance.
template <typename KeyOf>
std::vector<std::pair<std::string, Sum>> sum_by(const std::vector<kp::KernelTime>& launches,
                                                KeyOf key_of) {
  std::map<std::string, Sum> sums;
  for (std::size_t i = 0; i < launches.size(); ++i) {
    auto [it, inserted] = sums.try_emplace(key_of(launches[i]));
    if (inserted) it->second.first = i;
    it->second.ms += launches[i].ms;
    ++it->second.launches;
  }
  std::vector<std::pair<std::string, Sum>> ordered(sums.begin(), sums.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.second.first < b.second.first; });
  return ordered;
}

}  // namespace

void print_step_profile(const StepProfile& profile, const std::string& title, int scope_depth,
                        int top, std::ostream& out, Report& report,
                        const nlohmann::json& row_base) {
  const double steps = profile.steps;
  double kernel_ms = 0.0;
  for (const kp::KernelTime& t : profile.launches) kernel_ms += t.ms;
  kernel_ms /= steps;
  const double rest_ms = profile.step_ms - kernel_ms;
  const auto share = [&](double ms) { return fixed(100.0 * ms / profile.step_ms, 1) + "%"; };

  out << "\n"
      << title << ": " << profile.steps << " steps, each waited for\n"
      << "  step " << fixed(profile.step_ms, 2) << " ms; kernels " << fixed(kernel_ms, 2) << " ms ("
      << share(kernel_ms) << "); no kernel " << fixed(rest_ms, 2) << " ms (" << share(rest_ms)
      << ": the device idle while the host issues work, copies, memsets)"
      << "; the host issued a step in " << fixed(profile.host_ms, 2) << " ms\n";
  // Every JSON row: row_base, the bench's name, and `fields`.
  const auto add_row = [&](const nlohmann::json& fields) {
    nlohmann::json row = row_base;
    row["bench"] = "train-step-profile";
    row.update(fields);
    report.add(row);
  };
  add_row({{"step_ms", profile.step_ms},
           {"kernel_ms", kernel_ms},
           {"host_issue_ms", profile.host_ms},
           {"launches_per_step", double(profile.launches.size()) / steps}});

  Table scopes(out, "by scope", {{"scope", 28}, {"launches", 9}, {"ms/step", 9}, {"of step", 8}});
  for (const auto& [scope, sum] : sum_by(profile.launches, [&](const kp::KernelTime& t) {
         return t.scope.empty() ? std::string("(none)") : scope_prefix(t.scope, scope_depth);
       })) {
    scopes.row(
        {scope, fixed(sum.launches / steps, 0), fixed(sum.ms / steps, 3), share(sum.ms / steps)});
    add_row({{"scope", scope},
             {"ms_per_step", sum.ms / steps},
             {"launches_per_step", sum.launches / steps}});
  }

  auto kernels = sum_by(profile.launches, [](const kp::KernelTime& t) {
    const bool parenthesised =
        t.kernel.size() > 2 && t.kernel.front() == '(' && t.kernel.back() == ')';
    return (parenthesised ? t.kernel.substr(1, t.kernel.size() - 2) : t.kernel) + " @" + t.site;
  });
  std::sort(kernels.begin(), kernels.end(),
            [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  if (int(kernels.size()) > top) kernels.resize(std::size_t(top));
  Table table(out, str("the ", kernels.size(), " most expensive kernels"),
              {{"kernel @ launch site", 64},
               {"launches", 9},
               {"ms/step", 9},
               {"of step", 8},
               {"us/launch", 10}});
  for (const auto& [kernel, sum] : kernels) {
    table.row({kernel, fixed(sum.launches / steps, 0), fixed(sum.ms / steps, 3),
               share(sum.ms / steps), fixed(1e3 * sum.ms / double(sum.launches), 1)});
    add_row({{"kernel", kernel},
             {"ms_per_step", sum.ms / steps},
             {"launches_per_step", sum.launches / steps}});
  }
}

}  // namespace sombrero::benchmarks
