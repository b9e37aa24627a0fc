// The SIMT build's mbarrier (runtime/bulk_copy.h): its state lives, as on the GPU, in the
// 64-bit word the kernel placed in shared memory, in an encoding of our own (the hardware's
// is opaque): pending arrivals bits [0, 20), expected arrivals [20, 40), the current phase's
// parity [40], outstanding transaction bytes [41, 61) (two's complement: a copy may complete
// before the arrival that expects its bytes), and the tag 0b101 in [61, 64), so a barrier
// used before mbarrier_init (shared memory starts poisoned, all ones) is reported.
// A phase completes when both its pending arrivals and its transaction bytes reach zero: the
// parity flips and the pending count starts again at the expected count.
#pragma once

#include <cstdint>
#include <ios>
#include <source_location>

#include "runtime/error.h"

namespace sombrero::simt::detail {

struct MbarrierState {
  unsigned pending = 0, expected = 0, phase = 0;
  int transaction_bytes = 0;

  static constexpr unsigned kMaxCount = (1u << 20) - 1;
  static constexpr int kMaxTransactionBytes = (1 << 19) - 1;

  static MbarrierState decode(std::uint64_t word, const std::source_location& site) {
    SOMBRERO_CHECK(word >> 61 == 5, "mbarrier at ", site.file_name(), ":", site.line(),
                   " used before mbarrier_init (its word reads 0x", std::hex, word, std::dec, ")");
    MbarrierState s;
    s.pending = static_cast<unsigned>(word & kMaxCount);
    s.expected = static_cast<unsigned>((word >> 20) & kMaxCount);
    s.phase = static_cast<unsigned>((word >> 40) & 1u);
    const auto raw = static_cast<std::uint32_t>((word >> 41) & 0xfffffu);
    s.transaction_bytes = static_cast<int>(raw ^ 0x80000u) - 0x80000;  // sign-extend 20 bits
    return s;
  }

  std::uint64_t encode() const {
    return std::uint64_t{pending} | std::uint64_t{expected} << 20 | std::uint64_t{phase} << 40 |
           std::uint64_t{static_cast<std::uint32_t>(transaction_bytes) & 0xfffffu} << 41 |
           std::uint64_t{5} << 61;
  }

  // Arrivals (`arrivals` of them) and transaction bytes expected (> 0) or completed (< 0).
  void apply(unsigned arrivals, int transaction_delta, const std::source_location& site) {
    SOMBRERO_CHECK(arrivals <= pending, "mbarrier at ", site.file_name(), ":", site.line(), ": ",
                   arrivals, " arrival(s) on a phase with ", pending, " pending");
    pending -= arrivals;
    transaction_bytes += transaction_delta;
    SOMBRERO_CHECK(
        transaction_bytes >= -kMaxTransactionBytes && transaction_bytes <= kMaxTransactionBytes,
        "mbarrier at ", site.file_name(), ":", site.line(), ": ", transaction_bytes,
        " transaction bytes outstanding, beyond the counter's range");
    if (pending == 0 && transaction_bytes == 0) {
      phase ^= 1u;
      pending = expected;
    }
  }

  // Whether the phase of parity `parity` has completed (mbarrier.try_wait.parity).
  bool completed(unsigned parity) const { return phase != (parity & 1u); }
};

}  // namespace sombrero::simt::detail
