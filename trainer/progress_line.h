// The console progress of an epoch: on a terminal, one line redrawn in place
//   epoch 3/10 [#########.......] 230/469  2150 img/s  data 4%  loss 0.412 (ce 0.377 u1 0.35)  lr
//   0.0412  ETA 0:11
// and, when stdout is not a terminal (logs, CI), the same text as a plain line at most every
// `plain_interval_seconds` and at the end of the epoch.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sombrero::trainer {

struct StepStats {
  std::int64_t step = 0;   // steps done in this epoch
  std::int64_t steps = 0;  // steps in the epoch
  double images_per_second = 0;
  double data_wait_share = 0;  // fraction of step time spent waiting for the loader
  double loss = 0, ce = 0, u1 = 0;
  double lr = 0;
  double eta_seconds = 0;  // for the rest of the epoch
};

class ProgressLine {
 public:
  ProgressLine(int epoch, int epochs, std::FILE* out = stdout,
               double plain_interval_seconds = 10.0);
  // Force the plain (non-TTY) mode regardless of `out`: for tests.
  void set_interactive(bool interactive) { interactive_ = interactive; }
  void update(const StepStats& stats);
  // Prints the final state of the line and ends it.
  void finish(const StepStats& stats);

  static std::string format(int epoch, int epochs, const StepStats& stats, int bar_width);

 private:
  int epoch_, epochs_;
  std::FILE* out_;
  bool interactive_;
  double plain_interval_;
  std::chrono::steady_clock::time_point last_plain_;
  bool printed_plain_ = false;
};

std::string format_duration(double seconds);  // "1:02:03", "4:05"

}  // namespace sombrero::trainer
