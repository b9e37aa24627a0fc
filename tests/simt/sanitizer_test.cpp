// Under tools/sanitize.sh (AddressSanitizer), a kernel run by the SIMT build that reads one
// element past its dynamic shared memory or past a global buffer is stopped with a report.
// In other builds the death tests skip: without ASan those reads are undefined behaviour.
#include <gtest/gtest.h>

#include <vector>

#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

void read_one_past_shared() {
  // 100 ints = 400 bytes: not a multiple of the 128-byte alignment, so the byte after the
  // window lies inside the same allocation and only the explicit poisoning can catch it.
  int out = 0;
  simt::read_shared(100, 100, &out);
}

void read_one_past_global() {
  const std::vector<int> x(3, 5);
  int out = 0;
  simt::read_global(x.data(), 3, &out);
}

TEST(SimtSanitizer, InBoundsReadsPass) {
  int out = -1;
  simt::read_shared(100, 99, &out);
  EXPECT_EQ(out, 99);
  const std::vector<int> x = {5, 6, 7};
  simt::read_global(x.data(), 2, &out);
  EXPECT_EQ(out, 7);
}

TEST(SimtSanitizerDeathTest, ReadPastDynamicSharedMemoryIsReported) {
  if (!kAddressSanitizer) GTEST_SKIP() << "needs AddressSanitizer (tools/sanitize.sh)";
  EXPECT_DEATH(read_one_past_shared(), "AddressSanitizer");
}

TEST(SimtSanitizerDeathTest, ReadPastAGlobalBufferIsReported) {
  if (!kAddressSanitizer) GTEST_SKIP() << "needs AddressSanitizer (tools/sanitize.sh)";
  EXPECT_DEATH(read_one_past_global(), "heap-buffer-overflow");
}

}  // namespace
}  // namespace sombrero::simt_test
