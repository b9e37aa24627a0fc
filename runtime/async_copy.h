// Asynchronous global -> shared memory copies (cp.async, sm_80+), with which kernels fill
// the stages of a multi-stage shared-memory pipeline without staging data in registers.
//
//   cp_async_16(shared_dst, global_src)  queue a 16-byte copy; a null src fills 16 zero
//                                        bytes (padding, out-of-range tiles). Both
//                                        addresses 16-byte aligned.
//   cp_async_16(shared_dst, global_src, present)
//                                        the same, zeros unless `present`; global_src must
//                                        be a valid address either way (nothing is read
//                                        from it when absent). Cheaper where the caller
//                                        has the predicate already: no null test.
//   cp_async_commit()                    close this thread's current group of copies
//   cp_async_wait<N>()                   wait until at most N of this thread's groups are
//                                        still in flight
//   prefetch_l2(global_src)              ask for the 128-byte line holding global_src in L2
//                                        (a hint: nothing waits for it, no register holds
//                                        it; global_src must lie inside an allocation)
// A copy is visible to other threads only after the issuing thread's wait and a
// __syncthreads. Under nvcc each is one PTX instruction (cp.async.cg: cached in L2 only,
// which suits tiles streamed once per block). In the SIMT build the copies are queued per
// thread and land at the wait, with the destination poisoned in between
// (runtime/simt/async_copy.h), so a missing wait or a stage overwritten too early fails
// the tests that run the kernel on the CPU.
#pragma once

#include <cstdint>

#include "runtime/kernel_api.h"

#if defined(SOMBRERO_SIMT)
#include "runtime/simt/async_copy.h"
#endif

namespace sombrero::runtime {

#if defined(__CUDACC__)

// A valid global address for zero-filling copies (src-size 0 reads nothing from it).
static __device__ __align__(16) std::uint32_t async_copy_zero_source[4];

__device__ __forceinline__ void cp_async_16(void* shared_dst, const void* global_src,
                                            bool present) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
               :
               : "r"(static_cast<std::uint32_t>(__cvta_generic_to_shared(shared_dst))),
                 "l"(__cvta_generic_to_global(global_src)), "r"(present ? 16u : 0u)
               : "memory");
}

__device__ __forceinline__ void cp_async_16(void* shared_dst, const void* global_src) {
  cp_async_16(shared_dst, global_src != nullptr ? global_src : async_copy_zero_source,
              global_src != nullptr);
}

__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void prefetch_l2(const void* global_src) {
  asm volatile("prefetch.global.L2 [%0];\n" ::"l"(__cvta_generic_to_global(global_src)));
}

#else  // SOMBRERO_SIMT

inline void cp_async_16(void* shared_dst, const void* global_src, bool present) {
  simt::detail::async_copy(shared_dst, present ? global_src : nullptr, 16);
}

inline void cp_async_16(void* shared_dst, const void* global_src) {
  cp_async_16(shared_dst, global_src, global_src != nullptr);
}

inline void cp_async_commit() {
  simt::detail::async_copy_commit();
}

template <int N>
inline void cp_async_wait() {
  static_assert(N >= 0, "cp.async.wait_group takes a non-negative group count");
  simt::detail::async_copy_wait(static_cast<unsigned>(N));
}

// The CPU has no L2 to warm: a hint with no effect on results. It reads the byte it names,
// so that a kernel asking for a line outside its tensors fails under AddressSanitizer
// (tools/sanitize.sh) instead of passing unseen (on a GPU such a hint is silently dropped).
inline void prefetch_l2(const void* global_src) {
  (void)*static_cast<const volatile unsigned char*>(global_src);
}

#endif

}  // namespace sombrero::runtime
