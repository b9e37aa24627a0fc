// CUDA atomics for the SIMT build, as std::atomic_ref operations (relaxed, like CUDA's
// atomicAdd & co.). Fibers of one block never run at the same time, but blocks may run on
// several OS threads (SOMBRERO_SIMT_THREADS), so these must be real atomics.
// Only the overloads CUDA has exist (e.g. no float atomicMax: use an atomicCAS loop).
#pragma once

#include <atomic>

namespace sombrero::simt::detail {

template <typename T>
std::atomic_ref<T> atomic(T* address) {
  return std::atomic_ref<T>(*address);
}

template <typename T, typename Op>
T atomic_update(T* address, Op op) {
  auto ref = atomic(address);
  T old = ref.load(std::memory_order_relaxed);
  while (!ref.compare_exchange_weak(old, op(old), std::memory_order_relaxed)) {
  }
  return old;
}

}  // namespace sombrero::simt::detail

#define SOMBRERO_SIMT_ATOMIC_FETCH(name, T, member)                                          \
  inline T name(T* address, T value) {                                                       \
    return sombrero::simt::detail::atomic(address).member(value, std::memory_order_relaxed); \
  }
SOMBRERO_SIMT_ATOMIC_FETCH(atomicAdd, int, fetch_add)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicAdd, unsigned, fetch_add)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicAdd, unsigned long long, fetch_add)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicAdd, float, fetch_add)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicAdd, double, fetch_add)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicSub, int, fetch_sub)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicSub, unsigned, fetch_sub)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicAnd, int, fetch_and)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicAnd, unsigned, fetch_and)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicAnd, unsigned long long, fetch_and)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicOr, int, fetch_or)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicOr, unsigned, fetch_or)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicOr, unsigned long long, fetch_or)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicXor, int, fetch_xor)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicXor, unsigned, fetch_xor)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicXor, unsigned long long, fetch_xor)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicExch, int, exchange)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicExch, unsigned, exchange)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicExch, unsigned long long, exchange)
SOMBRERO_SIMT_ATOMIC_FETCH(atomicExch, float, exchange)
#undef SOMBRERO_SIMT_ATOMIC_FETCH

#define SOMBRERO_SIMT_ATOMIC_MINMAX(T)                                  \
  inline T atomicMax(T* address, T value) {                             \
    return sombrero::simt::detail::atomic_update(                       \
        address, [value](T old) { return old < value ? value : old; }); \
  }                                                                     \
  inline T atomicMin(T* address, T value) {                             \
    return sombrero::simt::detail::atomic_update(                       \
        address, [value](T old) { return value < old ? value : old; }); \
  }
SOMBRERO_SIMT_ATOMIC_MINMAX(int)
SOMBRERO_SIMT_ATOMIC_MINMAX(unsigned)
SOMBRERO_SIMT_ATOMIC_MINMAX(long long)
SOMBRERO_SIMT_ATOMIC_MINMAX(unsigned long long)
#undef SOMBRERO_SIMT_ATOMIC_MINMAX

#define SOMBRERO_SIMT_ATOMIC_CAS(T)                                                             \
  inline T atomicCAS(T* address, T compare, T value) {                                          \
    sombrero::simt::detail::atomic(address).compare_exchange_strong(compare, value,             \
                                                                    std::memory_order_relaxed); \
    return compare; /* the old value either way */                                              \
  }
SOMBRERO_SIMT_ATOMIC_CAS(int)
SOMBRERO_SIMT_ATOMIC_CAS(unsigned)
SOMBRERO_SIMT_ATOMIC_CAS(unsigned long long)
SOMBRERO_SIMT_ATOMIC_CAS(unsigned short)
#undef SOMBRERO_SIMT_ATOMIC_CAS

// ((old >= limit) ? 0 : old + 1) and ((old == 0 || old > limit) ? limit : old - 1).
inline unsigned atomicInc(unsigned* address, unsigned limit) {
  return sombrero::simt::detail::atomic_update(
      address, [limit](unsigned old) { return old >= limit ? 0u : old + 1; });
}
inline unsigned atomicDec(unsigned* address, unsigned limit) {
  return sombrero::simt::detail::atomic_update(
      address, [limit](unsigned old) { return (old == 0 || old > limit) ? limit : old - 1; });
}
