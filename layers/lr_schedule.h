// Learning-rate schedules, by optimizer step (the trainer converts epochs to steps):
//   lr(step) = warmup(step) * decay(step)
//   warmup     min(1, (step + 1) / warmup_steps): linear from lr / warmup_steps to lr
//   constant   decay = lr
//   cosine     decay = min_lr + (lr - min_lr) (1 + cos(pi t)) / 2, t = (step - warmup_steps)
//              / (total_steps - warmup_steps) clamped to [0, 1] (so warmup runs at full lr
//              before the decay; the last step reaches about min_lr)
//   step       decay = lr gamma^floor(step / step_size)
//   multistep  decay = lr gamma^(number of milestones <= step)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/config/config.h"

namespace sombrero::layers {

enum class LrScheduleKind { constant, cosine, step, multistep };

struct LrScheduleOptions {
  LrScheduleKind kind = LrScheduleKind::cosine;
  double lr = 0.1;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  double min_lr = 0.0;
  std::int64_t step_size = 1;            // step
  std::vector<std::int64_t> milestones;  // multistep, ascending
  double gamma = 0.1;
};

class LrSchedule {
 public:
  explicit LrSchedule(const LrScheduleOptions& options);
  double lr_at(std::int64_t step) const;
  const LrScheduleOptions& options() const { return options_; }

 private:
  LrScheduleOptions options_;
};

// From `optim.lr` (scaled by data.batch_size / optim.lr_reference_batch when that is > 0)
// and `schedule.*` (epochs converted with steps_per_epoch; warmup rounded to whole steps).
LrScheduleOptions lr_schedule_options_from_config(const runtime::Config& config,
                                                  std::int64_t steps_per_epoch);

}  // namespace sombrero::layers
