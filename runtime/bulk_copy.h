// Bulk copies into shared memory completed through an mbarrier (sm_90): one thread moves a
// whole contiguous tile with one instruction (the copy engine, no registers, no per-thread
// cp.async), and the threads that consume it wait on a barrier object in shared memory.
//
//   mbarrier_init(bar, count)         one thread: a barrier expecting `count` arrivals per
//                                     phase (fenced for the copy engine); make it visible to
//                                     the other threads (__syncthreads) before use
//   mbarrier_arrive(bar)              one arrival
//   mbarrier_arrive_expect_tx(bar, n) one arrival that also expects n bytes of copies to
//                                     complete in this phase (the producer, before its copies)
//   mbarrier_wait(bar, parity)        waits until the phase of that parity (0, 1, 0, ... per
//                                     completion) has completed: all arrivals made and all
//                                     expected bytes landed; its copies are then visible
//   bulk_copy_to_shared(dst, src, n, bar)
//                                     copies n bytes (a multiple of 16; both addresses
//                                     16-byte aligned) from global to this block's shared
//                                     memory, completing n transaction bytes on bar
// A ring of stages uses two barriers per stage: `full` (count 1: the producer's
// arrive_expect_tx, then its copies) and `empty` (count: the consumers, who arrive when done
// reading so the producer may refill it).
// Under nvcc for an architecture before sm_90 these trap. In the SIMT build (runtime/simt/
// executor.h) a copy's destination reads poisoned until it lands at a wait on its barrier, a
// wait no thread can complete fails the launch naming the waiting threads, and so does a
// block that exits with copies in flight.
#pragma once

#include <cstdint>
#include <source_location>

#include "runtime/kernel_api.h"

namespace sombrero::runtime {

#if defined(__CUDACC__)

__device__ __forceinline__ std::uint32_t shared_word(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void mbarrier_init(std::uint64_t* bar, unsigned count) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // The fence makes the initialised word visible to the async proxy (the copy engine, which
  // completes transactions on it), as the CUDA guide's bulk-copy example does.
  asm volatile(
      "mbarrier.init.shared::cta.b64 [%0], %1;\n"
      "fence.proxy.async.shared::cta;\n" ::"r"(shared_word(bar)),
      "r"(count)
      : "memory");
#elif defined(__CUDA_ARCH__)
  __trap();
#endif
}

__device__ __forceinline__ void mbarrier_arrive(std::uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(shared_word(bar)) : "memory");
#elif defined(__CUDA_ARCH__)
  __trap();
#endif
}

__device__ __forceinline__ void mbarrier_arrive_expect_tx(std::uint64_t* bar, unsigned bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(shared_word(bar)),
               "r"(bytes)
               : "memory");
#elif defined(__CUDA_ARCH__)
  __trap();
#endif
}

// One try (the hardware may suspend the thread a while inside it); true once the phase of
// `parity` has completed.
__device__ __forceinline__ bool mbarrier_try_wait(std::uint64_t* bar, unsigned parity) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  std::uint32_t done;
  asm volatile(
      "{\n"
      ".reg .pred complete;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 complete, [%1], %2;\n"
      "selp.u32 %0, 1, 0, complete;\n"
      "}\n"
      : "=r"(done)
      : "r"(shared_word(bar)), "r"(parity)
      : "memory");
  return done != 0;
#else
#if defined(__CUDA_ARCH__)
  __trap();
#endif
  return true;
#endif
}

__device__ __forceinline__ void mbarrier_wait(std::uint64_t* bar, unsigned parity) {
  while (!mbarrier_try_wait(bar, parity)) {
  }
}

__device__ __forceinline__ void bulk_copy_to_shared(void* dst, const void* src, unsigned bytes,
                                                    std::uint64_t* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::
          "r"(shared_word(dst)),
      "l"(__cvta_generic_to_global(src)), "r"(bytes), "r"(shared_word(bar))
      : "memory");
#elif defined(__CUDA_ARCH__)
  __trap();
#endif
}

#else  // SOMBRERO_SIMT

inline void mbarrier_init(std::uint64_t* bar, unsigned count,
                          std::source_location site = std::source_location::current()) {
  simt::detail::mbarrier_init(bar, count, site);
}

inline void mbarrier_arrive(std::uint64_t* bar,
                            std::source_location site = std::source_location::current()) {
  simt::detail::mbarrier_arrive(bar, 0, site);
}

inline void mbarrier_arrive_expect_tx(std::uint64_t* bar, unsigned bytes,
                                      std::source_location site = std::source_location::current()) {
  simt::detail::mbarrier_arrive(bar, bytes, site);
}

inline void mbarrier_wait(std::uint64_t* bar, unsigned parity,
                          std::source_location site = std::source_location::current()) {
  simt::detail::mbarrier_wait(bar, parity, site);
}

inline void bulk_copy_to_shared(void* dst, const void* src, unsigned bytes, std::uint64_t* bar,
                                std::source_location site = std::source_location::current()) {
  simt::detail::bulk_copy_to_shared(dst, src, bytes, bar, site);
}

#endif

}  // namespace sombrero::runtime
