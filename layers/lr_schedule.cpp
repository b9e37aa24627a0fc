#include "layers/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "runtime/error.h"

namespace sombrero::layers {

LrSchedule::LrSchedule(const LrScheduleOptions& options) : options_(options) {
  SOMBRERO_CHECK(options.lr > 0 && options.min_lr >= 0 && options.warmup_steps >= 0 &&
                     options.total_steps > 0 && options.step_size > 0 && options.gamma > 0,
                 "lr schedule: invalid options (lr ", options.lr, ", total steps ",
                 options.total_steps, ", step size ", options.step_size, ")");
  SOMBRERO_CHECK(std::is_sorted(options.milestones.begin(), options.milestones.end()),
                 "schedule.milestones must be ascending");
}

double LrSchedule::lr_at(std::int64_t step) const {
  const LrScheduleOptions& o = options_;
  double warmup = 1.0;
  if (o.warmup_steps > 0 && step < o.warmup_steps)
    warmup = double(step + 1) / double(o.warmup_steps);
  double decay = o.lr;
  switch (o.kind) {
    case LrScheduleKind::constant:
      break;
    case LrScheduleKind::cosine: {
      const double span = double(std::max<std::int64_t>(1, o.total_steps - o.warmup_steps));
      const double t = std::clamp(double(step - o.warmup_steps) / span, 0.0, 1.0);
      decay = o.min_lr + (o.lr - o.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
      break;
    }
    case LrScheduleKind::step:
      decay = o.lr * std::pow(o.gamma, double(step / o.step_size));
      break;
    case LrScheduleKind::multistep: {
      const auto passed =
          std::upper_bound(o.milestones.begin(), o.milestones.end(), step) - o.milestones.begin();
      decay = o.lr * std::pow(o.gamma, double(passed));
      break;
    }
  }
  return warmup * decay;
}

LrScheduleOptions lr_schedule_options_from_config(const runtime::Config& config,
                                                  std::int64_t steps_per_epoch) {
  SOMBRERO_CHECK(steps_per_epoch > 0, "lr schedule: steps per epoch must be positive");
  LrScheduleOptions o;
  const std::string kind = config.get<std::string>("schedule.kind");
  o.kind = kind == "constant"    ? LrScheduleKind::constant
           : kind == "step"      ? LrScheduleKind::step
           : kind == "multistep" ? LrScheduleKind::multistep
                                 : LrScheduleKind::cosine;
  o.lr = config.get<double>("optim.lr");
  const std::int64_t reference = config.get<std::int64_t>("optim.lr_reference_batch");
  if (reference > 0)
    o.lr *= double(config.get<std::int64_t>("data.batch_size")) / double(reference);
  o.warmup_steps =
      std::llround(config.get<double>("schedule.warmup_epochs") * double(steps_per_epoch));
  o.total_steps = config.get<std::int64_t>("train.epochs") * steps_per_epoch;
  o.min_lr = config.get<double>("schedule.min_lr");
  o.step_size = config.get<std::int64_t>("schedule.step_epochs") * steps_per_epoch;
  for (const std::int64_t epoch : config.get<std::vector<std::int64_t>>("schedule.milestones"))
    o.milestones.push_back(epoch * steps_per_epoch);
  std::sort(o.milestones.begin(), o.milestones.end());
  o.gamma = config.get<double>("schedule.gamma");
  return o;
}

}  // namespace sombrero::layers
