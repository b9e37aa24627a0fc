#include "runtime/simt/schedule.h"

#include <cstdlib>
#include <mutex>

#include "runtime/error.h"

namespace sombrero::simt {
namespace {

std::mutex schedule_mutex;

Schedule& schedule_slot() {
  static Schedule schedule = [] {
    const char* env = std::getenv("SOMBRERO_SIMT_SCHEDULE");
    return env != nullptr && *env != '\0' ? parse_schedule(env) : Schedule::in_order();
  }();
  return schedule;
}

}  // namespace

std::string Schedule::name() const {
  switch (kind) {
    case Kind::in_order:
      return "in_order";
    case Kind::reversed:
      return "reversed";
    case Kind::shuffled:
      return str("shuffled:", seed);
  }
  return "?";
}

Schedule parse_schedule(const std::string& text) {
  if (text == "in_order") return Schedule::in_order();
  if (text == "reversed") return Schedule::reversed();
  if (text == "shuffled") return Schedule::shuffled(0);
  const std::string prefix = "shuffled:";
  if (text.rfind(prefix, 0) == 0 && text.size() > prefix.size()) {
    char* end = nullptr;
    const unsigned long long seed = std::strtoull(text.c_str() + prefix.size(), &end, 10);
    if (end != nullptr && *end == '\0') return Schedule::shuffled(seed);
  }
  SOMBRERO_FAIL("unknown SIMT schedule '", text,
                "': expected in_order, reversed, shuffled or shuffled:<seed>");
}

Schedule current_schedule() {
  std::lock_guard lock(schedule_mutex);
  return schedule_slot();
}

void set_schedule(Schedule schedule) {
  std::lock_guard lock(schedule_mutex);
  schedule_slot() = schedule;
}

bool checks_enabled() {
  static const bool enabled = [] {
    const char* env = std::getenv("SOMBRERO_SIMT_CHECKS");
    return env == nullptr || std::string(env) != "0";
  }();
  return enabled;
}

}  // namespace sombrero::simt
