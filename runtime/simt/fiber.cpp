#include "runtime/simt/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "runtime/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
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
  if (getcontext(&context_) != 0) SOMBRERO_FAIL("simt: getcontext failed");
}

Fiber::~Fiber() {
  munmap(mapping_, mapping_bytes_);
}

void Fiber::reset(void (*entry)()) {
  context_.uc_stack.ss_sp = static_cast<char*>(mapping_) + guard_bytes_;
  context_.uc_stack.ss_size = mapping_bytes_ - guard_bytes_;
  context_.uc_link = nullptr;  // entry never returns: it suspends for good instead
  entry_ = entry;
  makecontext(&context_, &Fiber::start, 0);
}

void Fiber::start() {
  Fiber* self = starting_fiber;
  arrived_on_fiber(nullptr);
  self->entry_();
}

void Fiber::resume(ucontext_t* from) {
  starting_fiber = this;
#if defined(__SANITIZE_ADDRESS__)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, context_.uc_stack.ss_sp, context_.uc_stack.ss_size);
  swapcontext(from, &context_);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
  swapcontext(from, &context_);
#endif
}

void Fiber::suspend(ucontext_t* to) {
#if defined(__SANITIZE_ADDRESS__)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, scheduler_stack_bottom, scheduler_stack_size);
  swapcontext(&context_, to);
  arrived_on_fiber(fake_stack);
#else
  swapcontext(&context_, to);
#endif
}

}  // namespace sombrero::simt::detail
