// DeviceInputStage on cpu and simt (f32 and bf16): the staged batches, taken one step later as
// the training loop does, equal trainer::batch_images of the same batch bit for bit, over
// batches of different sizes (the buffers grow and are reused), with labels, size, epoch and
// index carried through; the staged bytes are a copy (the loader may reuse its buffer after
// wait_host_copies()); two batches in flight stay apart; misuse is a clear error.
#include "trainer/device_input.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/bf16.h"
#include "runtime/error.h"
#include "trainer/batch_input.h"

namespace sombrero::trainer {
namespace {

// A loader batch with its own host memory.
struct OwnedBatch {
  OwnedBatch(int size, datasets::ImageShape shape, std::int64_t epoch, std::int64_t index)
      : images(static_cast<std::size_t>(size) * shape.pixels()),
        labels(static_cast<std::size_t>(size)) {
    std::uint64_t x = 0x9e3779b97f4a7c15ull ^ static_cast<std::uint64_t>(epoch * 1000 + index);
    for (auto& v : images) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      v = static_cast<std::uint8_t>(x >> 32);
    }
    for (int i = 0; i < size; ++i) labels[static_cast<std::size_t>(i)] = (i * 7 + int(index)) % 10;
    original_labels = labels;
    batch.images = images.data();
    batch.labels = labels.data();
    batch.size = size;
    batch.shape = shape;
    batch.epoch = epoch;
    batch.index = index;
  }
  std::vector<std::uint8_t> images;
  std::vector<std::int32_t> labels;
  std::vector<std::int32_t> original_labels;
  datasets::Batch batch;
};

std::vector<std::uint8_t> host_bytes(const runtime::Tensor& t) {
  const runtime::Tensor host = t.to(runtime::Device::cpu());
  const auto* p = static_cast<const std::uint8_t*>(host.raw_data());
  return std::vector<std::uint8_t>(p, p + host.bytes());
}

struct Case {
  const char* name;
  runtime::Device device;
  layers::Precision precision;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class DeviceInput : public ::testing::TestWithParam<Case> {
 protected:
  layers::Context context() const {
    layers::Context ctx;
    ctx.device = GetParam().device;
    ctx.precision = GetParam().precision;
    return ctx;
  }
  // Taken input against batch_images of the batch as it was when staged.
  void expect_equal(const ModelInput& in, const OwnedBatch& b,
                    const std::vector<std::uint8_t>& reference, runtime::DType dtype) {
    SCOPED_TRACE("batch " + std::to_string(b.batch.index));
    const auto& s = b.batch.shape;
    EXPECT_EQ(in.images.shape(), (runtime::Shape{b.batch.size, s.height, s.width, s.channels}));
    EXPECT_EQ(in.images.device(), GetParam().device);
    EXPECT_EQ(in.images.dtype(), dtype);
    EXPECT_EQ(host_bytes(in.images), reference);
    EXPECT_EQ(in.labels, b.original_labels);
    EXPECT_EQ(in.size, b.batch.size);
    EXPECT_EQ(in.epoch, b.batch.epoch);
    EXPECT_EQ(in.index, b.batch.index);
  }
  runtime::DType expected_dtype() const {
    return GetParam().precision == layers::Precision::bf16 ? runtime::DType::bf16
                                                           : runtime::DType::f32;
  }
  const datasets::Normalization norm{{0.2860, 0.5, 0.1}, {0.3530, 0.25, 0.8}};
  const datasets::ImageShape shape{5, 4, 3};
};

TEST_P(DeviceInput, PipelinedStepsEqualBatchImagesBitForBit) {
  const layers::Context ctx = context();
  // Sizes change (growing and shrinking the buffers); the last batch of an epoch is smaller.
  const std::vector<int> sizes{3, 8, 2, 8, 11, 5};
  std::vector<std::unique_ptr<OwnedBatch>> batches;
  std::vector<std::vector<std::uint8_t>> references;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    batches.push_back(
        std::make_unique<OwnedBatch>(sizes[k], shape, /*epoch=*/3, static_cast<std::int64_t>(k)));
    references.push_back(host_bytes(batch_images(batches.back()->batch, norm, ctx)));
  }

  DeviceInputStage input(ctx, norm);
  EXPECT_EQ(input.pending(), 0);
  // As training_run.cpp: batch k+1 is staged after batch k was taken, before k is checked.
  auto stage = [&](std::size_t k) {
    input.wait_host_copies();
    input.stage(batches[k]->batch);
    // The loader may now reuse the buffer: the staged batch must not depend on it.
    input.wait_host_copies();
    std::memset(batches[k]->images.data(), 0xA5, batches[k]->images.size());
    batches[k]->labels.assign(batches[k]->labels.size(), -1);
  };
  stage(0);
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    ASSERT_EQ(input.pending(), 1);
    EXPECT_EQ(input.index(), static_cast<std::int64_t>(k));
    EXPECT_EQ(input.size(), sizes[k]);
    EXPECT_EQ(input.epoch(), 3);
    const ModelInput in = input.take();
    if (k + 1 < sizes.size()) stage(k + 1);
    expect_equal(in, *batches[k], references[k], expected_dtype());
  }
  EXPECT_EQ(input.pending(), 0);
}

TEST_P(DeviceInput, TwoStagedBatchesStayApart) {
  const layers::Context ctx = context();
  OwnedBatch a(6, shape, 1, 4), b(4, shape, 1, 5), c(6, shape, 2, 0);
  const auto ref_a = host_bytes(batch_images(a.batch, norm, ctx));
  const auto ref_b = host_bytes(batch_images(b.batch, norm, ctx));
  const auto ref_c = host_bytes(batch_images(c.batch, norm, ctx));
  ASSERT_NE(ref_a, ref_c);  // different data, so a mix-up would show

  DeviceInputStage input(ctx, norm);
  input.stage(a.batch);
  input.stage(b.batch);
  EXPECT_EQ(input.pending(), 2);
  EXPECT_EQ(input.index(), 4);  // the oldest
  EXPECT_EQ(input.labels(), a.original_labels);
  EXPECT_THROW(input.stage(c.batch), Error);  // both buffers are in use
  expect_equal(input.take(), a, ref_a, expected_dtype());
  input.stage(c.batch);  // into a's buffer, while b is still staged
  expect_equal(input.take(), b, ref_b, expected_dtype());
  expect_equal(input.take(), c, ref_c, expected_dtype());
  EXPECT_THROW(input.take(), Error);
}

// The normalisation itself, against the formula (independent of both implementations):
// (byte / 255 - mean[c]) / std[c], to f32 rounding (bf16: 2^-8 relative).
TEST_P(DeviceInput, ValuesFollowTheNormalizationFormula) {
  const layers::Context ctx = context();
  OwnedBatch a(2, shape, 0, 0);
  DeviceInputStage input(ctx, norm);
  input.stage(a.batch);
  const runtime::Tensor images = input.take().images.to(runtime::Device::cpu());
  const double tolerance = expected_dtype() == runtime::DType::bf16 ? 1.0 / 256 : 1e-6;
  for (std::size_t i = 0; i < a.images.size(); ++i) {
    const std::size_t c = i % 3;
    const double expected = (a.images[i] / 255.0 - norm.mean[c]) / norm.std[c];
    const double actual = images.dtype() == runtime::DType::bf16
                              ? double(bf16_to_float(images.data<bf16>()[i]))
                              : double(images.data<float>()[i]);
    ASSERT_NEAR(actual, expected, tolerance * std::max(1.0, std::fabs(expected)))
        << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Devices, DeviceInput,
    ::testing::Values(Case{"cpu", runtime::Device::cpu(), layers::Precision::f32},
                      Case{"simt_f32", runtime::Device::simt(), layers::Precision::f32},
                      Case{"simt_bf16", runtime::Device::simt(), layers::Precision::bf16}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sombrero::trainer
