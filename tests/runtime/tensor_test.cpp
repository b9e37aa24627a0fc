// Tensor on the CPU: shapes, views, copies, fills, dtype checks, bf16 rounding, random fills,
// and the errors a user meets (wrong shape, wrong dtype, a CUDA device that is not there).
#include "runtime/tensor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/device_info.h"
#include "tests/runtime/error_of.h"

namespace sombrero::runtime {
namespace {

using ::sombrero::test_support::error_of;
using ::testing::HasSubstr;

std::vector<float> iota(std::int64_t n, float start = 0.0f) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = start + static_cast<float>(i);
  return v;
}

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float float_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// to_dtype(bf16) of many tensors at once equals each one's own, bit for bit, on the host
// (the simt device too); mixed devices and non-f32 sources are refused.
TEST(Tensor, Bf16ConversionTogetherEqualsOneByOne) {
  for (const Device device : {Device::cpu(), Device::simt()}) {
    std::vector<Tensor> sources;
    Generator gen(4);
    for (const std::int64_t n : {1, 7, 1000, 65537}) {
      sources.push_back(Tensor::empty({n}, DType::f32, device));
      sources.back().fill_normal(gen, 0.0f, 1e3f);
    }
    const std::vector<Tensor> together = to_bf16_together(sources);
    ASSERT_EQ(together.size(), sources.size());
    for (std::size_t i = 0; i < sources.size(); ++i) {
      const Tensor alone = sources[i].to_dtype(DType::bf16);
      ASSERT_EQ(together[i].dtype(), DType::bf16);
      EXPECT_EQ(std::memcmp(together[i].raw_data(), alone.raw_data(), alone.bytes()), 0) << i;
    }
  }
  EXPECT_TRUE(to_bf16_together({}).empty());
  EXPECT_THROW(
      to_bf16_together({Tensor::zeros({2}), Tensor::zeros({2}, DType::f32, Device::simt())}),
      Error);
  EXPECT_THROW(to_bf16_together({Tensor::zeros({2}, DType::bf16)}), Error);
}

TEST(Tensor, ShapeNumelBytesAndDevice) {
  const Tensor t = Tensor::empty({8, 4, 4, 3}, DType::bf16);
  EXPECT_TRUE(t.defined());
  EXPECT_EQ(t.rank(), 4);
  EXPECT_EQ(t.dim(0), 8);
  EXPECT_EQ(t.dim(3), 3);
  EXPECT_EQ(t.numel(), 384);
  EXPECT_EQ(t.bytes(), 768u);
  EXPECT_EQ(t.dtype(), DType::bf16);
  EXPECT_EQ(t.device(), Device::cpu());
  EXPECT_EQ(t.stream(), nullptr);
  EXPECT_EQ(Tensor::empty({5, 7}).bytes(), 140u);
  const Tensor scalar = Tensor::full({}, 2.5f);
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.to_floats(), std::vector<float>{2.5f});
}

TEST(Tensor, CpuStorageIsAlignedTo64Bytes) {
  for (std::int64_t n : {1, 3, 17, 100, 4097}) {
    Tensor t = Tensor::empty({n}, DType::bf16);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u) << n;
  }
}

TEST(Tensor, ReshapeIsAViewWithTheSameNumel) {
  Tensor t = Tensor::from_floats({2, 6}, iota(12));
  Tensor r = t.reshape({3, 2, 2});
  EXPECT_TRUE(r.shares_storage_with(t));
  EXPECT_EQ(r.shape(), (Shape{3, 2, 2}));
  r.data<float>()[5] = -1.0f;
  EXPECT_EQ(t.data<float>()[5], -1.0f);
  EXPECT_THAT(error_of([&] {
                (void)t.reshape({5, 2});
              }),
              HasSubstr("Tensor::reshape: cannot view [2, 6] (12 elements) as [5, 2] (10 "
                        "elements)"));
}

TEST(Tensor, SliceIsARangeOfDimensionZeroSharingStorage) {
  Tensor batch = Tensor::from_floats({4, 2, 3}, iota(24));
  Tensor middle = batch.slice(1, 3);
  EXPECT_EQ(middle.shape(), (Shape{2, 2, 3}));
  EXPECT_TRUE(middle.shares_storage_with(batch));
  EXPECT_EQ(middle.to_floats(), iota(12, 6.0f));
  middle.fill(0.5f);
  const std::vector<float> all = batch.to_floats();
  EXPECT_EQ(all[5], 5.0f);
  EXPECT_EQ(all[6], 0.5f);
  EXPECT_EQ(all[17], 0.5f);
  EXPECT_EQ(all[18], 18.0f);
  EXPECT_EQ(batch.slice(2, 2).numel(), 0);
  EXPECT_EQ(middle.slice(1, 2).to_floats(), std::vector<float>(6, 0.5f));  // slice of a slice
  EXPECT_THAT(error_of([&] { (void)batch.slice(3, 5); }),
              HasSubstr("Tensor::slice(3, 5) is out of range for dimension 0 of shape [4, 2, 3]"));
  EXPECT_THAT(error_of([&] { (void)batch.slice(2, 1); }), HasSubstr("0 <= begin <= end <= 4"));
  EXPECT_THAT(error_of([] { (void)Tensor::full({}, 1.0f).slice(0, 1); }),
              HasSubstr("needs a tensor of rank >= 1"));
}

TEST(Tensor, AViewKeepsTheStorageAlive) {
  Tensor view;
  {
    Tensor owner = Tensor::from_floats({3, 2}, iota(6));
    view = owner.slice(2, 3);
  }
  EXPECT_EQ(view.to_floats(), (std::vector<float>{4.0f, 5.0f}));
}

TEST(Tensor, CopiesDoNotAlias) {
  Tensor a = Tensor::from_floats({2, 2}, iota(4));
  Tensor b = a.clone();
  Tensor c = a.to(Device::cpu());
  EXPECT_FALSE(b.shares_storage_with(a));
  EXPECT_FALSE(c.shares_storage_with(a));
  a.fill(9.0f);
  EXPECT_EQ(b.to_floats(), iota(4));
  EXPECT_EQ(c.to_floats(), iota(4));
  Tensor d = Tensor::zeros({2, 2});
  d.copy_from(b);
  EXPECT_EQ(d.to_floats(), iota(4));
}

TEST(Tensor, CopyFromNamesBothShapesOnMismatch) {
  Tensor target = Tensor::zeros({2, 3});
  EXPECT_THAT(error_of([&] {
                target.copy_from(Tensor::zeros({3, 2}));
              }),
              HasSubstr("Tensor::copy_from: the source [3, 2] f32 cpu does not match the "
                        "destination [2, 3] f32 cpu"));
  EXPECT_THAT(error_of([&] {
                target.copy_from(Tensor::zeros({2, 3}, DType::bf16));
              }),
              HasSubstr("the source [2, 3] bf16 cpu does not match the destination [2, 3] f32"));
}

TEST(Tensor, FillAndFull) {
  Tensor t = Tensor::empty({3, 5});
  t.fill(-1.25f);
  EXPECT_EQ(t.to_floats(), std::vector<float>(15, -1.25f));
  EXPECT_EQ(Tensor::zeros({4}, DType::bf16).to_floats(), std::vector<float>(4, 0.0f));
  // bf16 fill stores the value rounded to nearest even: 1 + 2^-8 is a tie -> 1.0.
  EXPECT_EQ(Tensor::full({2}, 1.0f + 0x1p-8f, DType::bf16).to_floats(),
            std::vector<float>(2, 1.0f));
}

TEST(Tensor, TypedAccessChecksTheDType) {
  Tensor h = Tensor::zeros({2, 3}, DType::bf16);
  EXPECT_NE(h.data<bf16>(), nullptr);
  EXPECT_THAT(error_of([&] { (void)h.data<float>(); }),
              HasSubstr("Tensor::data<f32>() on a bf16 tensor [2, 3] bf16 cpu: use data<bf16>() "
                        "or convert with to_dtype(DType::f32)"));
  const Tensor f = Tensor::zeros({4});
  EXPECT_THAT(error_of([&] { (void)f.data<bf16>(); }), HasSubstr("data<bf16>() on a f32 tensor"));
  Tensor undefined;
  EXPECT_FALSE(undefined.defined());
  EXPECT_THAT(error_of([&] { (void)undefined.data<float>(); }),
              HasSubstr("on an undefined tensor"));
  EXPECT_THAT(error_of([&] { undefined.fill(1.0f); }), HasSubstr("Tensor::fill on an undefined"));
}

TEST(Tensor, FromFloatsChecksTheCount) {
  EXPECT_THAT(error_of([] {
                (void)Tensor::from_floats({2, 3}, iota(5));
              }),
              HasSubstr("Tensor::from_floats: shape [2, 3] has 6 elements but 5 values"));
}

TEST(Tensor, ToBf16RoundsToNearestTiesToEvenAndKeepsNaN) {
  const float one = 1.0f;
  const std::vector<float> values = {
      one,
      float_of(0x3f808000u),  // 1 + 2^-8: halfway between 0x3f80 (even) and 0x3f81 -> 0x3f80
      float_of(0x3f818000u),  // 1 + 3*2^-8: halfway between 0x3f81 and 0x3f82 (even) -> 0x3f82
      float_of(0x3f808001u),  // just above halfway -> 0x3f81
      float_of(0x3f807fffu),  // just below halfway -> 0x3f80
      -2.0f,
      -0.0f,
      std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::max(),  // rounds up past the largest bf16 -> +inf
      float_of(0x00000001u),              // the smallest denormal -> +0
      std::numeric_limits<float>::quiet_NaN(),
      float_of(0x7f800001u),  // a signalling NaN with only a low payload bit: still NaN
  };
  const std::vector<std::uint16_t> expected = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x3f80,
                                               0xc000, 0x8000, 0x7f80, 0x7f80, 0x0000};
  const Tensor h = Tensor::from_floats({12}, values).to_dtype(DType::bf16);
  ASSERT_EQ(h.dtype(), DType::bf16);
  const bf16* p = h.data<bf16>();
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(p[i].bits, expected[i]) << "element " << i << " = " << values[i];
  for (std::size_t i = 10; i < 12; ++i) {
    EXPECT_EQ(p[i].bits & 0x7f80u, 0x7f80u) << "NaN keeps the all-ones exponent";
    EXPECT_NE(p[i].bits & 0x007fu, 0u) << "NaN keeps a nonzero mantissa";
  }
  // bf16 -> f32 is exact: the 16 bits become the top half of the f32.
  const std::vector<float> back = h.to_dtype(DType::f32).to_floats();
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(bits_of(back[i]), static_cast<std::uint32_t>(expected[i]) << 16) << i;
  EXPECT_TRUE(std::isnan(back[10]));
  EXPECT_TRUE(std::isnan(back[11]));
}

TEST(Tensor, ToStringShowsShapeDTypeDeviceAndLeadingValues) {
  EXPECT_EQ(Tensor::from_floats({2, 3}, iota(6)).to_string(),
            "Tensor([2, 3], f32, cpu) {0, 1, 2, 3, 4, 5}");
  EXPECT_EQ(Tensor::from_floats({10}, iota(10), DType::bf16).to_string(4),
            "Tensor([10], bf16, cpu) {0, 1, 2, 3, ...}");
  EXPECT_EQ(Tensor::zeros({1, 2, 3, 4}).to_string(0), "Tensor([1, 2, 3, 4], f32, cpu)");
  EXPECT_EQ(Tensor().to_string(), "Tensor(undefined)");
}

TEST(Tensor, CudaTensorsAreAClearErrorWhenTheDeviceIsMissing) {
  // An index past the last device fails in every build: without the CUDA backend, without a
  // device, or with too few devices; the message names the operation and the device.
  const int missing = static_cast<int>(cuda_devices().size()) + 2;
  const std::string message = error_of([&] {
    (void)Tensor::empty({2, 3}, DType::f32, Device::cuda(missing));
  });
  EXPECT_THAT(message, HasSubstr(str("Tensor::empty([2, 3] f32 cuda:", missing, "): ")));
  if (cuda_devices().empty()) {
    EXPECT_THAT(message, HasSubstr(cuda_unavailable_reason()));
  }
  EXPECT_THAT(error_of([] { (void)Tensor::zeros({4}).to(Device::cuda(99)); }),
              HasSubstr("cuda:99"));
}

// ---- random fills ----

TEST(TensorRandom, SameSeedAndOffsetGiveTheSameNumbers) {
  Generator g1(1234), g2(1234), g3(1235);
  Tensor a = Tensor::empty({1000}), b = Tensor::empty({1000}), c = Tensor::empty({1000});
  a.fill_normal(g1);
  b.fill_normal(g2);
  c.fill_normal(g3);
  EXPECT_EQ(a.to_floats(), b.to_floats());
  EXPECT_NE(a.to_floats(), c.to_floats());
}

TEST(TensorRandom, EachFillAdvancesTheOffsetByItsBlocks) {
  Generator g(7, 100);
  Tensor t = Tensor::empty({10});
  t.fill_uniform(g);
  EXPECT_EQ(g.offset(), 103u);  // ceil(10 / 4) blocks of four values
  Tensor u = Tensor::empty({2, 4});
  u.fill_normal(g);
  EXPECT_EQ(g.offset(), 105u);
  EXPECT_EQ(g.seed(), 7u);
  Tensor again = Tensor::empty({10});
  Generator same(7, 100);
  again.fill_uniform(same);
  EXPECT_EQ(again.to_floats(), t.to_floats());
  Tensor next = Tensor::empty({10});
  next.fill_uniform(g);  // later fills draw new numbers
  EXPECT_NE(next.to_floats(), t.to_floats());
}

TEST(TensorRandom, ElementValueDependsOnlyOnSeedOffsetAndIndex) {
  // One fill of 16 equals two fills of 8 from the same generator, and element i of a fill at
  // offset k equals element i + 4k of a fill at offset 0.
  Generator whole_gen(99), split_gen(99), shifted_gen(99, 1);
  Tensor whole = Tensor::empty({16}), first = Tensor::empty({8}), second = Tensor::empty({8});
  whole.fill_normal(whole_gen, 1.0f, 3.0f);
  first.fill_normal(split_gen, 1.0f, 3.0f);
  second.fill_normal(split_gen, 1.0f, 3.0f);
  const std::vector<float> w = whole.to_floats();
  EXPECT_EQ(first.to_floats(), std::vector<float>(w.begin(), w.begin() + 8));
  EXPECT_EQ(second.to_floats(), std::vector<float>(w.begin() + 8, w.end()));
  Tensor shifted = Tensor::empty({12});
  shifted.fill_normal(shifted_gen, 1.0f, 3.0f);
  EXPECT_EQ(shifted.to_floats(), std::vector<float>(w.begin() + 4, w.end()));
}

TEST(TensorRandom, Bf16FillsAreTheF32ValuesRounded) {
  Generator g32(5), g16(5);
  Tensor f = Tensor::empty({257});
  Tensor h = Tensor::empty({257}, DType::bf16);
  f.fill_uniform(g32, -3.0f, 3.0f);
  h.fill_uniform(g16, -3.0f, 3.0f);
  EXPECT_EQ(h.to_floats(), f.to_dtype(DType::bf16).to_floats());
  f.fill_normal(g32);
  h.fill_normal(g16);
  EXPECT_EQ(h.to_floats(), f.to_dtype(DType::bf16).to_floats());
}

TEST(TensorRandom, UniformStaysInItsRangeAndCoversIt) {
  Generator g(42);
  Tensor t = Tensor::empty({1 << 16});
  t.fill_uniform(g, -0.5f, 2.0f);
  float lo = 1e9f, hi = -1e9f;
  for (float v : t.to_floats()) {
    ASSERT_GE(v, -0.5f);
    ASSERT_LT(v, 2.0f);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  // 65536 draws: the chance that none lands within 0.01 of an end is (1 - 0.004)^65536 ~ 1e-114.
  EXPECT_LT(lo, -0.49f);
  EXPECT_GT(hi, 1.99f);
}

// Mean and standard deviation of n = 2^20 draws. For i.i.d. N(mu, sigma^2) samples the sample
// mean has standard error sigma/sqrt(n) = sigma * 9.8e-4 and the sample variance has standard
// error sigma^2 sqrt(2/(n-1)) = sigma^2 * 1.38e-3. We allow 5 standard errors: a correct
// generator falls outside with probability ~6e-7 (and with a fixed seed the outcome is fixed),
// while a bias of 0.5% in the mean or 0.7% in the variance is caught. The truncation at 5.77
// sigma and the 2^-24 grid change the variance by < 1e-6, far below the tolerance.
TEST(TensorRandom, NormalHasTheRequestedMeanAndStddev) {
  constexpr std::int64_t n = 1 << 20;
  for (const auto& [mean, stddev] : {std::pair{0.0f, 1.0f}, std::pair{3.0f, 0.5f}}) {
    Generator g(2024);
    Tensor t = Tensor::empty({n});
    t.fill_normal(g, mean, stddev);
    double sum = 0.0, sum_sq = 0.0;
    for (float v : t.to_floats()) {
      sum += v;
      sum_sq += static_cast<double>(v) * v;
    }
    const double m = sum / n;
    const double var = (sum_sq - n * m * m) / (n - 1);
    const double s2 = static_cast<double>(stddev) * stddev;
    EXPECT_NEAR(m, mean, 5.0 * stddev / std::sqrt(double(n))) << "mean " << mean;
    EXPECT_NEAR(var, s2, 5.0 * s2 * std::sqrt(2.0 / (n - 1))) << "stddev " << stddev;
  }
}

// The same bound for the uniform: U(lo, hi) has variance (hi-lo)^2/12; the mean's standard
// error is sqrt(var/n). 5 standard errors as above.
TEST(TensorRandom, UniformHasTheExpectedMean) {
  constexpr std::int64_t n = 1 << 20;
  Generator g(77);
  Tensor t = Tensor::empty({n});
  t.fill_uniform(g, 1.0f, 3.0f);
  double sum = 0.0;
  for (float v : t.to_floats()) sum += v;
  EXPECT_NEAR(sum / n, 2.0, 5.0 * std::sqrt(4.0 / 12.0 / n));
}

TEST(TensorRandom, RejectsInvertedRangesAndNegativeStddev) {
  Generator g(1);
  Tensor t = Tensor::empty({4});
  EXPECT_THAT(error_of([&] { t.fill_uniform(g, 2.0f, 1.0f); }),
              HasSubstr("Tensor::fill_uniform(2, 1) on [4] f32 cpu: need lo <= hi"));
  EXPECT_THAT(error_of([&] { t.fill_normal(g, 0.0f, -1.0f); }), HasSubstr("need stddev >= 0"));
  EXPECT_EQ(g.offset(), 0u);  // a rejected fill draws nothing
}

}  // namespace
}  // namespace sombrero::runtime
