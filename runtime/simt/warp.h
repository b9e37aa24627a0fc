// Warp-level primitives for the SIMT build: __syncwarp, shuffles, votes, __reduce_*_sync.
//
// A warp is 32 consecutive linear thread ids. Each primitive is a warp collective: the calling
// lane deposits its operand and waits until every lane of `mask` has arrived at the same
// operation with the same mask; the results are then computed from the operands passed at
// that one call, as on the GPU. A lane named in the mask that exits or waits elsewhere is
// reported (sombrero::Error), never waited for forever.
//
// Reading from a lane that exists but is not in the mask is undefined on the GPU; here it
// yields all-ones bits (a NaN float, -1 integer) so that using the value shows.
#pragma once

#include <bit>
#include <climits>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <type_traits>

#include "runtime/error.h"
#include "runtime/simt/executor.h"

namespace sombrero::simt::detail {

struct ShuffleOperand {
  std::uint64_t bits;
  int arg;  // source lane, delta or lane mask
  int width;
};

template <WarpOp Op>
void resolve_shuffle(WarpCall* const* lanes, unsigned mask) {
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (lanes[lane] == nullptr) continue;
    const auto& in = *static_cast<const ShuffleOperand*>(lanes[lane]->in);
    const int width = in.width;
    const int segment = static_cast<int>(lane) & ~(width - 1);
    int source = static_cast<int>(lane);
    if constexpr (Op == WarpOp::shfl_idx) {
      source = segment + (in.arg & (width - 1));
    } else if constexpr (Op == WarpOp::shfl_up) {
      if (static_cast<int>(lane) - in.arg >= segment) source = static_cast<int>(lane) - in.arg;
    } else if constexpr (Op == WarpOp::shfl_down) {
      if (static_cast<int>(lane) + in.arg < segment + width)
        source = static_cast<int>(lane) + in.arg;
    } else {
      // xor: lanes may read from their own or earlier segments, never from later ones.
      const int other = static_cast<int>(lane) ^ in.arg;
      if (other < 32 && (other & ~(width - 1)) <= segment) source = other;
    }
    const bool readable = (mask >> source) & 1u;
    *static_cast<std::uint64_t*>(lanes[lane]->out) =
        readable ? static_cast<const ShuffleOperand*>(lanes[source]->in)->bits : ~0ull;
  }
}

template <WarpOp Op, typename T>
T shuffle(unsigned mask, T value, int arg, int width, std::source_location site) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8,
                "warp shuffles move values of at most 8 bytes");
  SOMBRERO_CHECK(width >= 1 && width <= 32 && std::has_single_bit(static_cast<unsigned>(width)),
                 warp_op_name(Op), ": width ", width, " is not a power of two in [1, 32]");
  ShuffleOperand in{0, arg, width};
  std::memcpy(&in.bits, &value, sizeof(T));
  std::uint64_t out = 0;
  WarpCall call{Op, mask, &in, &out, &resolve_shuffle<Op>, site};
  warp_collective(call);
  T result;
  std::memcpy(&result, &out, sizeof(T));
  return result;
}

template <WarpOp Op>
void resolve_vote(WarpCall* const* lanes, unsigned mask) {
  unsigned ballot = 0;
  for (unsigned lane = 0; lane < 32; ++lane)
    if (lanes[lane] != nullptr && *static_cast<const int*>(lanes[lane]->in) != 0)
      ballot |= 1u << lane;
  unsigned result = ballot;
  if constexpr (Op == WarpOp::any) result = ballot != 0 ? 1u : 0u;
  if constexpr (Op == WarpOp::all) result = ballot == mask ? 1u : 0u;
  for (unsigned lane = 0; lane < 32; ++lane)
    if (lanes[lane] != nullptr) *static_cast<unsigned*>(lanes[lane]->out) = result;
}

template <WarpOp Op>
unsigned vote(unsigned mask, int predicate, std::source_location site) {
  unsigned out = 0;
  WarpCall call{Op, mask, &predicate, &out, &resolve_vote<Op>, site};
  warp_collective(call);
  return out;
}

template <WarpOp Op, typename T>
void resolve_reduce(WarpCall* const* lanes, unsigned /*mask*/) {
  bool first = true;
  T result{};
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (lanes[lane] == nullptr) continue;
    const T value = *static_cast<const T*>(lanes[lane]->in);
    if (first)
      result = value;
    else if constexpr (Op == WarpOp::reduce_add)
      result += value;
    else if constexpr (Op == WarpOp::reduce_min)
      result = value < result ? value : result;
    else
      result = value > result ? value : result;
    first = false;
  }
  for (unsigned lane = 0; lane < 32; ++lane)
    if (lanes[lane] != nullptr) *static_cast<T*>(lanes[lane]->out) = result;
}

template <WarpOp Op, typename T>
T reduce(unsigned mask, T value, std::source_location site) {
  T out{};
  WarpCall call{Op, mask, &value, &out, &resolve_reduce<Op, T>, site};
  warp_collective(call);
  return out;
}

inline void resolve_nothing(WarpCall* const*, unsigned) {}

}  // namespace sombrero::simt::detail

inline void __syncwarp(unsigned mask = 0xffffffffu,
                       std::source_location site = std::source_location::current()) {
  sombrero::simt::WarpCall call{sombrero::simt::WarpOp::syncwarp,         mask, nullptr, nullptr,
                                &sombrero::simt::detail::resolve_nothing, site};
  sombrero::simt::detail::warp_collective(call);
}

template <typename T>
T __shfl_sync(unsigned mask, T value, int source_lane, int width = 32,
              std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::shuffle<sombrero::simt::WarpOp::shfl_idx>(mask, value, source_lane,
                                                                           width, site);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32,
                 std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::shuffle<sombrero::simt::WarpOp::shfl_up>(
      mask, value, static_cast<int>(delta), width, site);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32,
                   std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::shuffle<sombrero::simt::WarpOp::shfl_down>(
      mask, value, static_cast<int>(delta), width, site);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32,
                  std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::shuffle<sombrero::simt::WarpOp::shfl_xor>(mask, value, lane_mask,
                                                                           width, site);
}

inline unsigned __ballot_sync(unsigned mask, int predicate,
                              std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::vote<sombrero::simt::WarpOp::ballot>(mask, predicate, site);
}
inline int __any_sync(unsigned mask, int predicate,
                      std::source_location site = std::source_location::current()) {
  return static_cast<int>(
      sombrero::simt::detail::vote<sombrero::simt::WarpOp::any>(mask, predicate, site));
}
inline int __all_sync(unsigned mask, int predicate,
                      std::source_location site = std::source_location::current()) {
  return static_cast<int>(
      sombrero::simt::detail::vote<sombrero::simt::WarpOp::all>(mask, predicate, site));
}
inline unsigned __activemask() {
  return sombrero::simt::detail::active_mask();
}

// sm_80+ integer warp reductions.
inline unsigned __reduce_add_sync(unsigned mask, unsigned value,
                                  std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::reduce<sombrero::simt::WarpOp::reduce_add>(mask, value, site);
}
inline int __reduce_add_sync(unsigned mask, int value,
                             std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::reduce<sombrero::simt::WarpOp::reduce_add>(mask, value, site);
}
inline unsigned __reduce_min_sync(unsigned mask, unsigned value,
                                  std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::reduce<sombrero::simt::WarpOp::reduce_min>(mask, value, site);
}
inline int __reduce_min_sync(unsigned mask, int value,
                             std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::reduce<sombrero::simt::WarpOp::reduce_min>(mask, value, site);
}
inline unsigned __reduce_max_sync(unsigned mask, unsigned value,
                                  std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::reduce<sombrero::simt::WarpOp::reduce_max>(mask, value, site);
}
inline int __reduce_max_sync(unsigned mask, int value,
                             std::source_location site = std::source_location::current()) {
  return sombrero::simt::detail::reduce<sombrero::simt::WarpOp::reduce_max>(mask, value, site);
}
