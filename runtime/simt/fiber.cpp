#include "runtime/simt/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "runtime/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if SOMBRERO_SIMT_STACK_SWITCH
// sombrero_simt_switch(save, next): pushes the callee-saved registers (System V x86-64: rbp,
// rbx, r12-r15) and the MXCSR and x87 control words (also callee-saved), stores the stack
// pointer in *save, loads next, and pops the same from there: the `ret` returns into the
// context that saved next. Everything else is caller-saved, so the C++ call site has spilled
// what it needs. A fresh fiber's stack holds such a frame made by Fiber::reset, whose return
// address is sombrero_simt_fiber_entry: it calls the function in r12 (Fiber::start) with the
// stack 16-byte aligned, as the ABI wants at a call; that function never returns.
extern "C" void sombrero_simt_switch(void** save, void* next);
extern "C" void sombrero_simt_fiber_entry();
asm(R"(
  .text
  .p2align 4
  .globl sombrero_simt_switch
  .hidden sombrero_simt_switch
  .type sombrero_simt_switch, @function
sombrero_simt_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size sombrero_simt_switch, .-sombrero_simt_switch

  .p2align 4
  .globl sombrero_simt_fiber_entry
  .hidden sombrero_simt_fiber_entry
  .type sombrero_simt_fiber_entry, @function
sombrero_simt_fiber_entry:
  call *%r12
  ud2
  .size sombrero_simt_fiber_entry, .-sombrero_simt_fiber_entry
)");
#endif

namespace sombrero::simt::detail {
namespace {

// AddressSanitizer is told about every stack switch (it tracks one stack per context;
// unannounced, a switch looks like a wild stack access). The calls pair up as: before a
// switch, start(destination stack); on arrival, finish (which reports the stack we came
// from: that is how a fiber learns the scheduler's stack). No-ops without ASan.
#if defined(__SANITIZE_ADDRESS__)
thread_local const void* scheduler_stack_bottom = nullptr;
thread_local std::size_t scheduler_stack_size = 0;
void arrived_on_fiber(void* fake_stack) {
  __sanitizer_finish_switch_fiber(fake_stack, &scheduler_stack_bottom, &scheduler_stack_size);
}
#else
void arrived_on_fiber(void*) {}
#endif

thread_local Fiber* starting_fiber = nullptr;  // the fiber a resume() is entering

std::size_t stack_bytes() {
  static const std::size_t bytes = [] {
    const char* env = std::getenv("SOMBRERO_SIMT_STACK_KB");
    const long kib = env != nullptr ? std::strtol(env, nullptr, 10) : 256;
    SOMBRERO_CHECK(kib >= 16, "SOMBRERO_SIMT_STACK_KB must be at least 16, got '", env, "'");
    return static_cast<std::size_t>(kib) * 1024;
  }();
  return bytes;
}

// Switches from the execution saving into `from` to the one saved in `to`.
void switch_context(FiberContext& from, FiberContext& to) {
#if SOMBRERO_SIMT_STACK_SWITCH
  sombrero_simt_switch(&from.stack_pointer, to.stack_pointer);
#else
  swapcontext(&from.context, &to.context);
#endif
}

}  // namespace

Fiber::Fiber() {
  guard_bytes_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  mapping_bytes_ = stack_bytes() + guard_bytes_;
  mapping_ = mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mapping_ == MAP_FAILED)
    SOMBRERO_FAIL("simt: cannot map a fiber stack of ", mapping_bytes_,
                  " bytes: ", std::strerror(errno));
  // The stack grows down: the lowest page is the guard.
  if (mprotect(mapping_, guard_bytes_, PROT_NONE) != 0)
    SOMBRERO_FAIL("simt: cannot protect a fiber stack guard page: ", std::strerror(errno));
#if !SOMBRERO_SIMT_STACK_SWITCH
  if (getcontext(&context_.context) != 0) SOMBRERO_FAIL("simt: getcontext failed");
#endif
}

Fiber::~Fiber() {
  munmap(mapping_, mapping_bytes_);
}

void Fiber::reset(void (*entry)()) {
  entry_ = entry;
#if defined(__SANITIZE_ADDRESS__)
  const std::size_t dirty = finished_ ? std::min(live_bytes_, stack_size()) : stack_size();
  ASAN_UNPOISON_MEMORY_REGION(stack_bottom() + stack_size() - dirty, dirty);
#endif
  finished_ = false;
#if SOMBRERO_SIMT_STACK_SWITCH
  // The frame sombrero_simt_switch pops, at the top of the stack (lowest address first):
  // control words, r15, r14, r13, r12 = start, rbx, rbp = 0 (ends frame-pointer walks),
  // return address = sombrero_simt_fiber_entry, then 16 zero bytes above it (a null return
  // address for unwinders). 80 bytes from a 16-byte aligned top: the entry's call is aligned.
  constexpr int kFrameWords = 10;
  const auto top = reinterpret_cast<std::uintptr_t>(mapping_) + mapping_bytes_;
  auto* frame = reinterpret_cast<std::uint64_t*>(top & ~std::uintptr_t{15}) - kFrameWords;
  std::uint32_t mxcsr = 0;
  std::uint16_t x87_control = 0;
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(x87_control));
  std::memset(frame, 0, kFrameWords * sizeof(std::uint64_t));
  frame[0] = mxcsr | (std::uint64_t{x87_control} << 32);
  frame[4] = reinterpret_cast<std::uint64_t>(&Fiber::start);
  frame[7] = reinterpret_cast<std::uint64_t>(&sombrero_simt_fiber_entry);
  context_.stack_pointer = frame;
#else
  ucontext_t& context = context_.context;
  context.uc_stack.ss_sp = stack_bottom();
  context.uc_stack.ss_size = stack_size();
  context.uc_link = nullptr;  // entry never returns: it suspends for good instead
  makecontext(&context, &Fiber::start, 0);
#endif
}

void Fiber::start() {
  Fiber* self = starting_fiber;
  arrived_on_fiber(nullptr);
  self->entry_();
}

void Fiber::resume(FiberContext* from) {
  starting_fiber = this;
#if defined(__SANITIZE_ADDRESS__)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, stack_bottom(), stack_size());
  switch_context(*from, context_);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
  switch_context(*from, context_);
#endif
}

void Fiber::suspend(FiberContext* to) {
#if defined(__SANITIZE_ADDRESS__)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, scheduler_stack_bottom, scheduler_stack_size);
  switch_context(context_, *to);
  arrived_on_fiber(fake_stack);
#else
  switch_context(context_, *to);
#endif
}

void Fiber::finish(FiberContext* to) {
  finished_ = true;
  // From this frame to the top, plus room for the frames below it (suspend, the switch).
  constexpr std::size_t kBelow = 4096;
  const auto* top = static_cast<const char*>(mapping_) + mapping_bytes_;
  live_bytes_ =
      static_cast<std::size_t>(top - static_cast<const char*>(__builtin_frame_address(0))) + kBelow;
  suspend(to);
  std::abort();  // a finished fiber is resumed only after a reset, from the top
}

}  // namespace sombrero::simt::detail
