// One CUDA thread of the SIMT executor: a ucontext fiber on its own mmap'ed stack, with a
// guard page below it so that a kernel overflowing its stack faults instead of silently
// corrupting a neighbour. Fibers (and their stacks) are reused from block to block.
//
// Stack size: SOMBRERO_SIMT_STACK_KB (default 256 KiB; pages are only committed when touched).
// swapcontext also saves and restores the signal mask (a syscall per switch); that is the
// main cost of a switch, about a microsecond.
#pragma once

#include <ucontext.h>

#include <cstddef>

namespace sombrero::simt::detail {

class Fiber {
 public:
  Fiber();
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Prepares the fiber to run entry() from the top of its stack on the next resume.
  void reset(void (*entry)());
  // Switches from `from` (the scheduler's context) into this fiber.
  void resume(ucontext_t* from);
  // Switches from this fiber back to `to` (the scheduler's context).
  void suspend(ucontext_t* to);

 private:
  static void start();  // the context's entry: runs entry_ (announcing the stack to ASan)

  ucontext_t context_{};
  void (*entry_)() = nullptr;
  void* mapping_ = nullptr;
  std::size_t mapping_bytes_ = 0;
  std::size_t guard_bytes_ = 0;
};

}  // namespace sombrero::simt::detail
