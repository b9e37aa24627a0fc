// The order in which the SIMT executor resumes the fibers (CUDA threads) of a block.
//
// Between two sync points a fiber runs alone, to its next sync point, so a kernel whose
// shared-memory reads depend on which thread wrote first gives different results under
// different orders. Tests run kernels under in_order, reversed and shuffled(seed) and
// require identical output: that is how a missing __syncthreads is caught on a CPU.
//
// The schedule is process-wide (set_schedule / ScopedSchedule); its start value comes from
// the environment variable SOMBRERO_SIMT_SCHEDULE: "in_order" (default), "reversed",
// "shuffled" or "shuffled:<seed>".
#pragma once

#include <cstdint>
#include <string>

namespace sombrero::simt {

struct Schedule {
  enum class Kind { in_order, reversed, shuffled };
  Kind kind = Kind::in_order;
  std::uint64_t seed = 0;  // shuffled only: the order is a function of (seed, block, round)

  static Schedule in_order() { return {Kind::in_order, 0}; }
  static Schedule reversed() { return {Kind::reversed, 0}; }
  static Schedule shuffled(std::uint64_t seed) { return {Kind::shuffled, seed}; }

  std::string name() const;  // "in_order", "reversed", "shuffled:<seed>"
  bool operator==(const Schedule&) const = default;
};

// Parses the SOMBRERO_SIMT_SCHEDULE syntax; throws sombrero::Error on anything else.
Schedule parse_schedule(const std::string& text);

Schedule current_schedule();
void set_schedule(Schedule schedule);

// Sets a schedule for a scope and restores the previous one.
class ScopedSchedule {
 public:
  explicit ScopedSchedule(Schedule schedule) : previous_(current_schedule()) {
    set_schedule(schedule);
  }
  ~ScopedSchedule() { set_schedule(previous_); }
  ScopedSchedule(const ScopedSchedule&) = delete;
  ScopedSchedule& operator=(const ScopedSchedule&) = delete;

 private:
  Schedule previous_;
};

// The schedules a test runs every kernel under.
inline constexpr int kTestScheduleCount = 3;
inline Schedule test_schedule(int index) {
  return index == 0 ? Schedule::in_order()
                    : (index == 1 ? Schedule::reversed() : Schedule::shuffled(20240611));
}

// Whether the SIMT checks are on (default). SOMBRERO_SIMT_CHECKS=0 turns them off: every block
// then runs in order whatever the schedule, and a __syncthreads that not all threads reach
// is released instead of reported, as lenient hardware might. It exists to show what the
// checks catch (the planted-race and divergent-barrier tests then fail); never set it in CI.
bool checks_enabled();

}  // namespace sombrero::simt
