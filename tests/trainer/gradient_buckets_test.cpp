// GradientBuckets: parameters grouped in reverse order by size, gradients re-bound into
// the buckets' flat buffers (values kept, writes visible both ways), and the mean over ranks.
#include "trainer/gradient_buckets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

#include "runtime/error.h"
#include "tests/support/mirror_communicator.h"

namespace sombrero::trainer {
namespace {

using layers::NamedParameter;
using layers::Parameter;
using runtime::Tensor;

using test::MirrorCommunicator;

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
  // zero_grads clears every gradient through the buckets.
  buckets.zero_grads();
  for (const NamedParameter& p : params.named)
    EXPECT_EQ(p.parameter->grad.to_floats(),
              std::vector<float>(std::size_t(p.parameter->grad.numel()), 0.0f))
        << p.name;
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

// Records the split collectives: which buffer sizes started, and when finish came.
class RecordingCommunicator : public MirrorCommunicator {
 public:
  void start_all_reduce_sum(Tensor& t) override {
    events.push_back(str("start ", t.numel()));
    all_reduce_sum(t);
  }
  void finish_all_reduces() override { events.push_back("finish"); }
  std::vector<std::string> events;
};

// A layer owning parameters of given sizes (backward is never called here).
class Holder : public layers::Layer {
 public:
  Holder(const std::vector<std::int64_t>& sizes, float value) : Layer("Holder") {
    for (std::size_t i = 0; i < sizes.size(); ++i)
      add_parameter(str("p", i), {sizes[i]}, layers::ParameterRole::weight).grad.fill(value);
  }
  runtime::Shape output_shape(const runtime::Shape& s) const override { return s; }
  Tensor forward(const layers::Context&, const Tensor& x) override { return x; }
  Tensor backward(const layers::Context&, const Tensor& dy) override { return dy; }
};

TEST(GradientBuckets, LayerDoneStartsEachBucketOnceItsGradientsAreFinal) {
  // Three "trunk layers" in forward order; backward finishes them in reverse.
  Holder first({30, 30}, 1.0f), middle({40}, 2.0f), last({50, 10}, 3.0f);
  std::vector<NamedParameter> all;
  for (layers::Layer* layer :
       {static_cast<layers::Layer*>(&first), static_cast<layers::Layer*>(&middle),
        static_cast<layers::Layer*>(&last)})
    for (const NamedParameter& p : layer->named_parameters()) all.push_back(p);
  // 100-float buckets from the end: [last.p1, last.p0, middle.p0] = 100, [first.p1, first.p0].
  GradientBuckets buckets(all, 400e-6);
  ASSERT_EQ(buckets.buckets().size(), 2u);
  RecordingCommunicator comm;
  buckets.layer_done(last, comm);
  EXPECT_TRUE(comm.events.empty()) << "bucket 0 still waits for middle's gradient";
  buckets.layer_done(middle, comm);
  EXPECT_EQ(comm.events, std::vector<std::string>{"start 100"});
  buckets.layer_done(first, comm);
  buckets.finish(comm);
  EXPECT_EQ(comm.events, (std::vector<std::string>{"start 100", "start 60", "finish"}));
  // Mirrored sum, then the mean: the gradients are back to their values.
  EXPECT_EQ(all[0].parameter->grad.to_floats(), std::vector<float>(30, 1.0f));
  EXPECT_EQ(all[4].parameter->grad.to_floats(), std::vector<float>(10, 3.0f));
  // The next step starts afresh; a step without layer_done starts everything in finish.
  comm.events.clear();
  buckets.finish(comm);
  EXPECT_EQ(comm.events, (std::vector<std::string>{"start 100", "start 60", "finish"}));
}

TEST(GradientBuckets, RefusesNonPositiveSizes) {
  Params params;
  params.add("a", 10, 1.0f);
  EXPECT_THROW(GradientBuckets(params.named, 0.0), Error);
}

}  // namespace
}  // namespace sombrero::trainer
