// Division of non-negative ints by a divisor fixed before the launch, by a multiply-high and
// shifts instead of a runtime division (a 32-bit `/` or `%` by a runtime value is an inlined
// sequence of ~20 instructions on the GPU): the quotient costs a shift, an IMAD.HI and a
// shift, the remainder one more IMAD. The kernels' index decompositions use it.
//
// Math: the round-up method of Granlund and Montgomery ("Division by invariant integers
// using multiplication", PLDI 1994), for dividends of 31 bits. For a divisor d >= 1 let
//   l = ceil(log2 d)              (2^(l-1) < d <= 2^l; l = 0 for d = 1)
//   m = ceil(2^(31+l) / d)        (m d = 2^(31+l) + e with 0 <= e < d)
// For 0 <= n < 2^31 write n = q d + r, 0 <= r < d. Then
//   n m / 2^(31+l) = n/d + e n / (d 2^(31+l)) = q + r/d + err,  0 <= err < 2^-l <= 1/d,
// and r/d + err < (d-1)/d + 1/d = 1, so floor(n m / 2^(31+l)) = q exactly.
// m fits in 32 bits: m <= 2^31 for d <= 2 and, for d >= 2^(l-1) + 1, 2^(31+l)/d <=
// 2^32 / (1 + 2^(1-l)) <= 2^32 - 1 (l <= 31). Since n < 2^31, 2n fits in 32 unsigned bits and
//   q = floor(2n m / 2^(32+l)) = __umulhi(2n, m) >> l,
// one formula for every d (d = 1: m = 2^31, l = 0, q = n; d = 2^l: m = 2^31, q = n >> l).
// The remainder is r = n - q d.
// Valid range: divisors 1 <= d < 2^31 (the constructor checks d >= 1), dividends
// 0 <= n < 2^31. A negative dividend gives a wrong result (it is not C's truncation).
#pragma once

#include <cstdint>

#include "runtime/error.h"
#include "runtime/kernel_api.h"

namespace sombrero::kernels {

class FastDivmod {
 public:
  // Host side: the multiplier and shift of divisor d >= 1.
  explicit FastDivmod(int d) : divisor_(d) {
    SOMBRERO_CHECK(d >= 1, "FastDivmod: the divisor must be >= 1, got ", d);
    while ((1ll << shift_) < d) ++shift_;  // l = ceil(log2 d)
    const std::uint64_t power = std::uint64_t{1} << (31 + shift_);
    multiplier_ = static_cast<std::uint32_t>((power + static_cast<std::uint64_t>(d) - 1) /
                                             static_cast<std::uint64_t>(d));
  }

  SOMBRERO_HOST_DEVICE int divisor() const { return divisor_; }

  // n / d for 0 <= n < 2^31.
  __device__ __forceinline__ int div(int n) const {
    return static_cast<int>(__umulhi(static_cast<std::uint32_t>(n) << 1, multiplier_) >> shift_);
  }
  // quotient = n / d, remainder = n % d for 0 <= n < 2^31.
  __device__ __forceinline__ void divmod(int n, int& quotient, int& remainder) const {
    quotient = div(n);
    remainder = n - quotient * divisor_;
  }

 private:
  int divisor_;
  std::uint32_t multiplier_ = 0;
  int shift_ = 0;
};

}  // namespace sombrero::kernels
