// DeviceInputStage on cuda:0 (copy stream, events, double buffering): the staged batches equal
// trainer::batch_images on the same device bit for bit (f32 and bf16), from pinned and from
// pageable host memory, with the loader's pattern (batch k+1 staged while batch k's kernels
// run) and with two batches in flight plus a third copied into the first one's buffer while
// its normalize kernel may still be queued. Skipped with a message when no device is present.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "datasets/host_buffer.h"
#include "runtime/cuda_context.h"
#include "runtime/device_info.h"
#include "trainer/batch_input.h"
#include "trainer/device_input.h"

namespace sombrero::trainer {
namespace {

// A loader batch in pinned (when granted) or pageable host memory.
struct OwnedBatch {
  OwnedBatch(int size, datasets::ImageShape shape, std::int64_t index, bool pinned)
      : images(static_cast<std::size_t>(size) * shape.pixels(), pinned),
        labels(static_cast<std::size_t>(size)) {
    std::uint64_t x = 0x243f6a8885a308d3ull + static_cast<std::uint64_t>(index);
    for (std::size_t i = 0; i < images.bytes(); ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      images.data()[i] = static_cast<std::uint8_t>(x >> 32);
    }
    for (int i = 0; i < size; ++i) labels[static_cast<std::size_t>(i)] = (i + int(index)) % 10;
    batch.images = images.data();
    batch.labels = labels.data();
    batch.size = size;
    batch.shape = shape;
    batch.epoch = 0;
    batch.index = index;
    batch.pinned = images.pinned();
  }
  void scribble() { std::memset(images.data(), 0x5A, images.bytes()); }
  datasets::HostBuffer images;
  std::vector<std::int32_t> labels;
  datasets::Batch batch;
};

std::vector<std::uint8_t> host_bytes(const runtime::Tensor& t) {
  const runtime::Tensor host = t.to(runtime::Device::cpu());
  const auto* p = static_cast<const std::uint8_t*>(host.raw_data());
  return std::vector<std::uint8_t>(p, p + host.bytes());
}

class DeviceInputGpu : public ::testing::TestWithParam<layers::Precision> {
 protected:
  void SetUp() override {
    if (runtime::cuda_devices().empty())
      GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
    ctx.device = runtime::Device::cuda(0);
    ctx.precision = GetParam();
  }
  void expect_equal(const ModelInput& in, const OwnedBatch& b,
                    const std::vector<std::uint8_t>& reference) {
    SCOPED_TRACE("batch " + std::to_string(b.batch.index));
    EXPECT_EQ(in.images.device(), ctx.device);
    EXPECT_EQ(in.images.numel(), static_cast<std::int64_t>(b.images.bytes()));
    EXPECT_EQ(host_bytes(in.images), reference);
    EXPECT_EQ(in.labels, b.labels);
    EXPECT_EQ(in.size, b.batch.size);
    EXPECT_EQ(in.index, b.batch.index);
  }
  layers::Context ctx;
  const datasets::Normalization norm{{0.49, 0.48, 0.45}, {0.25, 0.24, 0.26}};
  const datasets::ImageShape shape{32, 32, 3};
};

TEST_P(DeviceInputGpu, PipelinedStepsEqualBatchImages) {
  // Large enough that a copy takes a while; sizes change, so the buffers grow.
  const std::vector<int> sizes{64, 256, 128, 256, 512, 17};
  std::vector<std::unique_ptr<OwnedBatch>> batches;
  std::vector<std::vector<std::uint8_t>> references;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    batches.push_back(std::make_unique<OwnedBatch>(sizes[k], shape, static_cast<std::int64_t>(k),
                                                   /*pinned=*/k % 2 == 0));
    references.push_back(host_bytes(batch_images(batches.back()->batch, norm, ctx)));
  }
  DeviceInputStage input(ctx, norm);
  input.stage(batches[0]->batch);
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    ModelInput in = input.take();  // kernel queued behind the copy
    input.wait_host_copies();
    if (k + 1 < sizes.size()) {
      input.stage(batches[k + 1]->batch);
      input.wait_host_copies();
      batches[k + 1]->scribble();  // the loader may reuse the memory now
    }
    expect_equal(in, *batches[k], references[k]);
  }
}

TEST_P(DeviceInputGpu, TwoStagesInFlightDoNotCorruptEachOther) {
  OwnedBatch a(512, shape, 0, true), b(300, shape, 1, true), c(512, shape, 2, false);
  const auto ref_a = host_bytes(batch_images(a.batch, norm, ctx));
  const auto ref_b = host_bytes(batch_images(b.batch, norm, ctx));
  const auto ref_c = host_bytes(batch_images(c.batch, norm, ctx));
  ASSERT_NE(ref_a, ref_c);

  DeviceInputStage input(ctx, norm);
  input.stage(a.batch);
  input.stage(b.batch);
  EXPECT_EQ(input.pending(), 2);
  const ModelInput in_a = input.take();  // a's kernel queued; c's copy must wait for it
  input.wait_host_copies();
  input.stage(c.batch);  // into a's buffer
  const ModelInput in_b = input.take();
  const ModelInput in_c = input.take();
  input.wait_host_copies();
  a.scribble();
  b.scribble();
  c.scribble();
  expect_equal(in_a, a, ref_a);
  expect_equal(in_b, b, ref_b);
  expect_equal(in_c, c, ref_c);
}

TEST_P(DeviceInputGpu, DestroyedWithACopyInFlight) {
  OwnedBatch a(512, shape, 0, true);
  {
    DeviceInputStage input(ctx, norm);
    input.stage(a.batch);
  }  // waits for the copy before freeing its buffer
  runtime::CudaContext::get(0).synchronize();
  SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(Precisions, DeviceInputGpu,
                         ::testing::Values(layers::Precision::f32, layers::Precision::bf16),
                         [](const auto& info) {
                           return std::string(info.param == layers::Precision::f32 ? "f32"
                                                                                   : "bf16");
                         });

}  // namespace
}  // namespace sombrero::trainer
