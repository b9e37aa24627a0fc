// One CUDA thread of the SIMT executor: a fiber on its own mmap'ed stack, with a guard page
// below it so that a kernel overflowing its stack faults instead of silently corrupting a
// neighbour. Fibers (and their stacks) are reused from block to block.
//
// Stack size: SOMBRERO_SIMT_STACK_KB (default 256 KiB; pages are only committed when touched).
//
// Switching: on x86-64, a dozen instructions of our own (fiber.cpp) that save the
// callee-saved registers and the SSE/x87 control words on the stack and swap stack
// pointers. swapcontext, the portable way (kept for other architectures), also saves and
// restores the signal mask: a system call per switch, about a microsecond, which was half of
// the time of a simt training run (perf). Kernels suspend at every barrier and warp
// collective, so the SIMT tests switch millions of times. The 6-step simt run of
// tests/trainer/train_simt_test.sh: 5.6 s -> 1.9 s, and 29.7 s -> 7.4 s under ASan
// (tools/sanitize.sh), on this 2-core CI-like machine.
#pragma once

#include <cstddef>

// -DSOMBRERO_SIMT_STACK_SWITCH=0 builds the swapcontext path on x86-64 too (to test it).
#if !defined(SOMBRERO_SIMT_STACK_SWITCH)
#if defined(__x86_64__)
#define SOMBRERO_SIMT_STACK_SWITCH 1
#else
#define SOMBRERO_SIMT_STACK_SWITCH 0
#endif
#endif
#if !SOMBRERO_SIMT_STACK_SWITCH
#include <ucontext.h>
#endif

namespace sombrero::simt::detail {

// Where a suspended execution (a fiber, or the scheduler that resumes them) goes on from.
struct FiberContext {
#if SOMBRERO_SIMT_STACK_SWITCH
  void* stack_pointer = nullptr;  // its saved registers lie at the top of its stack
#else
  ucontext_t context{};
#endif
};

class Fiber {
 public:
  Fiber();
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Prepares the fiber to run entry() from the top of its stack on the next resume.
  void reset(void (*entry)());
  // Switches from `from` (the scheduler's context) into this fiber.
  void resume(FiberContext* from);
  // Switches from this fiber back to `to` (the scheduler's context).
  void suspend(FiberContext* to);
  // The entry's last switch: like suspend, and marks the run finished.
  [[noreturn]] void finish(FiberContext* to);

 private:
  static void start();  // the context's entry: runs entry_ (announcing the stack to ASan)
  // The usable stack: the mapping above its guard page.
  char* stack_bottom() const { return static_cast<char*>(mapping_) + guard_bytes_; }
  std::size_t stack_size() const { return mapping_bytes_ - guard_bytes_; }

  FiberContext context_;
  void (*entry_)() = nullptr;
  // Under AddressSanitizer a frame that never returns leaves its redzones poisoned, where the
  // next run's frames will lie: reset() clears the top live_bytes_ of the stack (the frames
  // still live at finish()), or all of it after a run that never finished (its launch
  // failed while the fiber waited).
  bool finished_ = true;
  std::size_t live_bytes_ = 0;
  void* mapping_ = nullptr;
  std::size_t mapping_bytes_ = 0;
  std::size_t guard_bytes_ = 0;
};

}  // namespace sombrero::simt::detail
