// The kernel profiler behind `bench train-step --profile`, on SIMT launches (timed by the
// host clock): every launch between start() and stop() is recorded once, with its kernel,
// launch site and the scope path current when it was launched; nothing outside.
#include "runtime/kernel_profiler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/error.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

namespace kp = runtime::kernel_profiler;

int read_one(const std::vector<int>& x, int index) {
  int out = -1;
  simt::read_global(x.data(), index, &out);
  return out;
}

TEST(KernelProfiler, RecordsEachLaunchWithItsScopePathAndSite) {
  const std::vector<int> x = {10, 20, 30};
  EXPECT_EQ(read_one(x, 0), 10);  // before start(): not recorded
  kp::start();
  {
    const kp::Scope forward("forward");
    {
      const kp::Scope layer("conv1");
      EXPECT_EQ(read_one(x, 1), 20);
    }
    EXPECT_EQ(read_one(x, 2), 30);
  }
  EXPECT_EQ(read_one(x, 0), 10);
  const std::vector<kp::KernelTime> times = kp::stop();
  EXPECT_EQ(read_one(x, 1), 20);  // after stop(): not recorded

  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(times[0].scope, "forward/conv1");
  EXPECT_EQ(times[1].scope, "forward");
  EXPECT_EQ(times[2].scope, "");
  for (const kp::KernelTime& t : times) {
    EXPECT_EQ(t.kernel, "read_global_kernel");
    EXPECT_EQ(t.site.rfind("block_kernels.cu:", 0), 0u) << t.site;
    EXPECT_GT(t.ms, 0.0);  // a whole SIMT launch takes host time
  }
}

TEST(KernelProfiler, StartForgetsTheLastProfileAndRefusesToNest) {
  const std::vector<int> x = {1};
  kp::start();
  read_one(x, 0);
  EXPECT_EQ(kp::stop().size(), 1u);
  kp::start();
  EXPECT_THROW(kp::start(), Error);
  EXPECT_TRUE(kp::stop().empty());
  EXPECT_FALSE(kp::on());
}

TEST(KernelProfiler, ScopesAreFreeAndIgnoredWhileOff) {
  const std::vector<int> x = {1};
  {
    const kp::Scope outside("not-recorded");  // opened while off: pushes nothing
    kp::start();
    read_one(x, 0);
  }
  const std::vector<kp::KernelTime> times = kp::stop();
  ASSERT_EQ(times.size(), 1u);
  EXPECT_EQ(times[0].scope, "");
}

}  // namespace
}  // namespace sombrero::simt_test
