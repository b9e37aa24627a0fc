// GradientBuckets: parameters grouped in reverse order by size, gradients re-bound into
// the buckets' flat buffers (values kept, writes visible both ways), and the mean over ranks.
#include "trainer/gradient_buckets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "runtime/error.h"

namespace sombrero::trainer {
namespace {

using layers::NamedParameter;
using layers::Parameter;
using runtime::Tensor;

// Two ranks holding the same gradients, and each reduced buffer's size recorded.
class MirrorCommunicator : public runtime::Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string backend() const override { return "mirror"; }
  void all_reduce_sum(Tensor& t) override {
    t.scale(2.0f);
    reduced.push_back(t.numel());
  }
  void broadcast(Tensor&, int) override {}
  void all_reduce_sum(std::vector<double>& v) override {
    for (double& x : v) x *= 2;
  }
  void barrier() override {}
  std::vector<std::int64_t> reduced;
};

struct Params {
  std::vector<std::unique_ptr<Parameter>> owned;
  std::vector<NamedParameter> named;
  void add(const std::string& name, std::int64_t n, float value) {
    auto p = std::make_unique<Parameter>();
    p->value = Tensor::zeros({n});
    p->grad = Tensor::full({n}, value);
    named.push_back({name, p.get()});
    owned.push_back(std::move(p));
  }
};

TEST(GradientBuckets, ReverseOrderCutAtTheLimitAndGradientsBecomeViews) {
  Params params;
  params.add("a", 100, 1.0f);  // 400 bytes
  params.add("b", 300, 2.0f);  // 1200 bytes
  params.add("c", 200, 3.0f);  // 800 bytes
  params.add("d", 50, 4.0f);   // 200 bytes
  // 2000-byte buckets (500 floats), filled from the last parameter: [d, c], [b, a].
  GradientBuckets buckets(params.named, 2000e-6);
  ASSERT_EQ(buckets.buckets().size(), 2u);
  EXPECT_THAT(buckets.buckets()[0].names, ::testing::ElementsAre("d", "c"));
  EXPECT_THAT(buckets.buckets()[1].names, ::testing::ElementsAre("b", "a"));
  EXPECT_EQ(buckets.buckets()[0].flat.numel(), 250);
  EXPECT_EQ(buckets.buckets()[1].flat.numel(), 400);
  // Values survive the re-binding, and the gradients now share the buckets' storage.
  EXPECT_EQ(params.named[2].parameter->grad.to_floats(), std::vector<float>(200, 3.0f));
  EXPECT_TRUE(params.named[2].parameter->grad.shares_storage_with(buckets.buckets()[0].flat));
  params.named[3].parameter->grad.fill(7.0f);  // as backward would write
  EXPECT_EQ(buckets.buckets()[0].flat.to_floats()[0], 7.0f);
  EXPECT_EQ(buckets.describe(), "2 buckets (<= 0.002 MB), 4 tensors");
}

TEST(GradientBuckets, MeanOverRanksIsOneCollectivePerBucket) {
  Params params;
  params.add("a", 10, 0.3f);
  params.add("b", 20, -1.5f);
  params.add("c", 5000, 0.7f);                    // larger than a bucket: a bucket of its own
  GradientBuckets buckets(params.named, 400e-6);  // 100 floats
  MirrorCommunicator comm;
  buckets.all_reduce_mean(comm);
  EXPECT_THAT(comm.reduced, ::testing::ElementsAre(5000, 30));
  // (g + g) * 0.5 == g exactly.
  EXPECT_EQ(params.named[0].parameter->grad.to_floats(), std::vector<float>(10, 0.3f));
  EXPECT_EQ(params.named[2].parameter->grad.to_floats(), std::vector<float>(5000, 0.7f));
}

TEST(GradientBuckets, RefusesNonPositiveSizes) {
  Params params;
  params.add("a", 10, 1.0f);
  EXPECT_THROW(GradientBuckets(params.named, 0.0), Error);
}

}  // namespace
}  // namespace sombrero::trainer
