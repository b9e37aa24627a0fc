// Block-level synchronisation for the SIMT build: the __syncthreads family and fences.
// Each call records its source site (std::source_location), so a barrier that not every
// thread reaches is reported with the file:line the waiting threads are stuck at.
#pragma once

#include <atomic>
#include <source_location>

#include "runtime/simt/executor.h"

inline void __syncthreads(std::source_location site = std::source_location::current()) {
  sombrero::simt::detail::block_barrier(0, site);
}
inline int __syncthreads_count(int predicate,
                               std::source_location site = std::source_location::current()) {
  return static_cast<int>(sombrero::simt::detail::block_barrier(predicate, site).nonzero);
}
inline int __syncthreads_and(int predicate,
                             std::source_location site = std::source_location::current()) {
  const auto result = sombrero::simt::detail::block_barrier(predicate, site);
  return result.nonzero == result.threads ? 1 : 0;
}
inline int __syncthreads_or(int predicate,
                            std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::block_barrier(predicate, site).nonzero != 0 ? 1 : 0;
}

// Fibers of a block share one OS thread, and blocks running on other OS threads only meet
// through atomics, so a sequentially consistent fence is all a memory fence needs.
inline void __threadfence() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
}
inline void __threadfence_block() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
}
