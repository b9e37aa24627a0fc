#include "runtime/simt/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "runtime/error.h"

namespace sombrero::simt::detail {
namespace {

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
  makecontext(&context_, entry, 0);
}

void Fiber::resume(ucontext_t* from) {
  swapcontext(from, &context_);
}

void Fiber::suspend(ucontext_t* to) {
  swapcontext(&context_, to);
}

}  // namespace sombrero::simt::detail
