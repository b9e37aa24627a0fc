// The fibers under the SIMT executor (runtime/simt/fiber.h), switched directly: a switch
// keeps each side's locals and its floating-point control state, a fiber's stack is aligned as
// the ABI wants at a call, a fiber reset after it finished starts again from the top, and
// running off the bottom of a fiber's stack faults on the guard page instead of writing into
// whatever lies below it.
#include "runtime/simt/fiber.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cstdint>
#include <memory>
#include <vector>

namespace sombrero::simt::detail {
namespace {

// What a fiber's entry (a plain function: it takes no arguments) works on.
struct World {
  FiberContext scheduler;
  std::vector<std::unique_ptr<Fiber>> fibers;
  int current = 0;
  std::vector<int> trace;     // (fiber, step) as 100 fiber + step, in the order they ran
  std::vector<double> sums;   // per fiber, published when it finishes
  std::vector<int> finished;  // per fiber: how many times it ran to the end
};
World* world = nullptr;

void yield_to_scheduler() {
  world->fibers[world->current]->suspend(&world->scheduler);
}

[[noreturn]] void finish() {
  ++world->finished[world->current];
  yield_to_scheduler();
  ADD_FAILURE() << "a finished fiber was resumed";
  std::abort();
}

// Four steps with a suspend after each; its locals live across the suspends.
void stepping_entry() {
  const int me = world->current;
  double sum = 0.5 * me;
  long product = me + 1;
  for (int step = 0; step < 4; ++step) {
    world->trace.push_back(100 * me + step);
    sum += 1.0 / (step + 1 + me);
    product *= 3;
    yield_to_scheduler();
  }
  world->sums[me] = sum + static_cast<double>(product);
  finish();
}

struct WorldScope {
  World w;
  explicit WorldScope(int fibers) {
    for (int i = 0; i < fibers; ++i) w.fibers.push_back(std::make_unique<Fiber>());
    w.sums.assign(fibers, 0.0);
    w.finished.assign(fibers, 0);
    world = &w;
  }
  ~WorldScope() { world = nullptr; }
  void resume(int fiber) {
    w.current = fiber;
    w.fibers[fiber]->resume(&w.scheduler);
  }
};

double expected_sum(int me) {
  double sum = 0.5 * me;
  long product = me + 1;
  for (int step = 0; step < 4; ++step) {
    sum += 1.0 / (step + 1 + me);
    product *= 3;
  }
  return sum + static_cast<double>(product);
}

TEST(SimtFiber, InterleavedFibersKeepTheirOwnLocals) {
  WorldScope scope(3);
  for (int f = 0; f < 3; ++f) scope.w.fibers[f]->reset(&stepping_entry);
  // Round-robin, the last fiber first; the scheduler's own locals must survive too.
  double scheduler_sum = 0;
  for (int round = 0; round < 5; ++round) {
    for (int f = 2; f >= 0; --f) {
      scheduler_sum += round * 10 + f;
      scope.resume(f);
    }
  }
  EXPECT_EQ(scheduler_sum, 5 * (0 + 1 + 2) + 3 * 10 * (0 + 1 + 2 + 3 + 4));
  std::vector<int> expected;
  for (int step = 0; step < 4; ++step)
    for (int f = 2; f >= 0; --f) expected.push_back(100 * f + step);
  EXPECT_EQ(scope.w.trace, expected);
  for (int f = 0; f < 3; ++f) {
    EXPECT_EQ(scope.w.sums[f], expected_sum(f)) << "fiber " << f;
    EXPECT_EQ(scope.w.finished[f], 1) << "fiber " << f;
  }
}

TEST(SimtFiber, AResetFiberStartsAgainFromTheTop) {
  WorldScope scope(1);
  for (int run = 1; run <= 3; ++run) {
    scope.w.trace.clear();
    scope.w.fibers[0]->reset(&stepping_entry);
    for (int step = 0; step < 5; ++step) scope.resume(0);
    EXPECT_EQ(scope.w.trace, (std::vector<int>{0, 1, 2, 3})) << "run " << run;
    EXPECT_EQ(scope.w.finished[0], run);
  }
}

std::uintptr_t local_misalignment = 1;
void alignment_entry() {
  alignas(16) volatile unsigned char local[16] = {};
  local[0] = 1;
  // The compiler places `local` assuming the ABI's 16-byte stack alignment at calls; a fiber
  // entered with the stack 8 bytes off shows here (and in any SSE spill of the kernels).
  local_misalignment = reinterpret_cast<std::uintptr_t>(&local[0]) % 16;
  finish();
}

TEST(SimtFiber, AFiberStackIsAlignedAsTheAbiRequires) {
  WorldScope scope(1);
  scope.w.fibers[0]->reset(&alignment_entry);
  scope.resume(0);
  EXPECT_EQ(local_misalignment, 0u);
}

// The rounding mode a fiber sets stays with the fiber; the scheduler keeps its own. Both the
// x87 control word (what fegetround reads) and MXCSR (what SSE arithmetic obeys) are checked.
volatile float one = 1.0f, three = 3.0f;
int rounding_seen_after_resume = -1;
float third_before_suspend = 0, third_after_resume = 0;
void rounding_entry() {
  std::fesetround(FE_DOWNWARD);
  third_before_suspend = one / three;
  yield_to_scheduler();
  rounding_seen_after_resume = std::fegetround();
  third_after_resume = one / three;
  std::fesetround(FE_TONEAREST);
  finish();
}

TEST(SimtFiber, EachContextKeepsItsRoundingMode) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  const float third_nearest = one / three;
  WorldScope scope(1);
  scope.w.fibers[0]->reset(&rounding_entry);
  scope.resume(0);
  EXPECT_EQ(std::fegetround(), FE_TONEAREST) << "the fiber's rounding mode leaked out";
  EXPECT_EQ(one / three, third_nearest) << "the fiber's SSE rounding leaked out";
  scope.resume(0);
  EXPECT_EQ(rounding_seen_after_resume, FE_DOWNWARD) << "the fiber lost its rounding mode";
  EXPECT_LT(third_before_suspend, third_nearest);  // to nearest, 1/3 rounds up
  EXPECT_EQ(third_after_resume, third_before_suspend) << "the fiber lost its SSE rounding";
  EXPECT_EQ(std::fegetround(), FE_TONEAREST);
}

// Recursion with 256-byte frames (volatile, and used after the call: no tail call).
[[gnu::noinline]] int recurse(int depth) {
  volatile unsigned char frame[256];
  frame[0] = static_cast<unsigned char>(depth);
  if (depth == 0) return frame[0];
  return recurse(depth - 1) + frame[0];
}

int recursion_result = 0;
void overflowing_entry() {
  // 1536 frames of at least 256 bytes: 1.5 times the default 256 KiB stack.
  recursion_result = recurse(1536);
  finish();
}

void overflow_a_fiber_stack() {
  // Four stacks: mmap tends to place each new one just below the last, so without the guard
  // page fiber 0 would run on into fiber 1's stack unnoticed.
  WorldScope scope(4);
  scope.w.fibers[0]->reset(&overflowing_entry);
  scope.resume(0);
}

TEST(SimtFiberDeathTest, OverflowingTheStackFaultsOnTheGuardPage) {
  // Killed by SIGSEGV (or, under AddressSanitizer, stopped with its stack-overflow report).
  EXPECT_DEATH(overflow_a_fiber_stack(), "");
}

}  // namespace
}  // namespace sombrero::simt::detail
