// Runs a SIMT computation under every test schedule (in order, reversed, shuffled).
#pragma once

#include <vector>

#include "runtime/simt/schedule.h"

namespace sombrero::simt_test {

template <typename Compute>
auto under_all_schedules(Compute compute) {
  std::vector<decltype(compute())> results;
  for (int i = 0; i < ::sombrero::simt::kTestScheduleCount; ++i) {
    const ::sombrero::simt::ScopedSchedule schedule(::sombrero::simt::test_schedule(i));
    results.push_back(compute());
  }
  return results;
}

}  // namespace sombrero::simt_test
