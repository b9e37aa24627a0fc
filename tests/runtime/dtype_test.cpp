#include "runtime/dtype.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/shape.h"
#include "runtime/tensor.h"
#include "tests/runtime/error_of.h"

namespace sombrero::runtime {
namespace {

using ::sombrero::test_support::error_of;
using ::testing::HasSubstr;

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::f32), 4u);
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_STREQ(dtype_name(DType::f32), "f32");
  EXPECT_STREQ(dtype_name(DType::bf16), "bf16");
  EXPECT_EQ(parse_dtype("f32"), DType::f32);
  EXPECT_EQ(parse_dtype("bfloat16"), DType::bf16);
  EXPECT_THAT(error_of([] { parse_dtype("bf61"); }),
              HasSubstr("unknown dtype 'bf61': expected 'f32' or 'bf16'"));
}

TEST(Device, PrintsAndParses) {
  EXPECT_EQ(to_string(Device::cpu()), "cpu");
  EXPECT_EQ(to_string(Device::cuda(0)), "cuda:0");
  EXPECT_EQ(to_string(Device::cuda(3)), "cuda:3");
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:7"), Device::cuda(7));
  EXPECT_NE(Device::cuda(0), Device::cuda(1));
  EXPECT_NE(Device::cuda(0), Device::cpu());
  EXPECT_EQ(to_string(Device::simt()), "simt");
  EXPECT_EQ(parse_device("simt"), Device::simt());
  EXPECT_TRUE(Device::simt().is_host() && Device::cpu().is_host() && !Device::cuda(0).is_host());
  EXPECT_NE(Device::simt(), Device::cpu());
}

TEST(Device, SimtTensorsLiveInHostMemory) {
  // simt tensors are host memory: fills, copies and conversions work as on the cpu, and
  // the values cross between the two devices unchanged.
  Tensor a = Tensor::from_floats({2, 3}, {1, 2, 3, 4, 5, 6}, DType::f32, Device::simt());
  EXPECT_EQ(a.device(), Device::simt());
  EXPECT_EQ(a.stream(), nullptr);
  EXPECT_EQ(a.to(Device::cpu()).to_floats(), a.to_floats());
  EXPECT_EQ(a.to_dtype(DType::bf16).to_floats(), a.to_floats());  // small integers are exact
  Tensor b = Tensor::full({4}, 2.5f, DType::f32, Device::simt());
  EXPECT_EQ(b.to_floats(), (std::vector<float>{2.5f, 2.5f, 2.5f, 2.5f}));
  Generator g1(3), g2(3);
  Tensor c = Tensor::empty({16}, DType::f32, Device::simt());
  Tensor d = Tensor::empty({16}, DType::f32, Device::cpu());
  c.fill_normal(g1);
  d.fill_normal(g2);
  EXPECT_EQ(c.to_floats(), d.to_floats());
}

TEST(Device, ParseErrorsSayWhatIsExpected) {
  EXPECT_THAT(error_of([] { parse_device("gpu:0"); }),
              HasSubstr("unknown device 'gpu:0': expected 'cpu', 'cuda', "
                        "'cuda:<index>' or 'simt'"));
  EXPECT_THAT(error_of([] { parse_device("cpuu"); }), HasSubstr("did you mean 'cpu'?"));
  for (const char* bad : {"cuda:", "cuda:x", "cuda:-1", "cuda:1x"})
    EXPECT_THAT(error_of([&] { parse_device(bad); }),
                HasSubstr("the index after 'cuda:' must be a number >= 0"))
        << bad;
}

TEST(Shape, RankNumelAndPrinting) {
  const Shape nhwc{8, 32, 32, 3};
  EXPECT_EQ(nhwc.rank(), 4);
  EXPECT_EQ(nhwc.numel(), 8 * 32 * 32 * 3);
  EXPECT_EQ(nhwc[3], 3);
  EXPECT_EQ(to_string(nhwc), "[8, 32, 32, 3]");
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_EQ(to_string(Shape{}), "[]");
  EXPECT_EQ((Shape{4, 0}).numel(), 0);
  EXPECT_EQ((Shape{2, 3}), (Shape{2, 3}));
  EXPECT_NE((Shape{2, 3}), (Shape{3, 2}));
  EXPECT_NE((Shape{6}), (Shape{6, 1}));
}

TEST(Shape, RejectsRankAboveFourNegativeExtentsAndBadIndices) {
  EXPECT_THAT(error_of([] {
                Shape({1, 2, 3, 4, 5});
              }),
              HasSubstr("a shape has at most 4 dimensions, got 5"));
  EXPECT_THAT(error_of([] {
                Shape({2, -1});
              }),
              HasSubstr("shape extents must be >= 0, got -1 in dimension 1"));
  EXPECT_THAT(error_of([] {
                (void)Shape({2, 3})[2];
              }),
              HasSubstr("dimension 2 is out of range for shape [2, 3]"));
}

}  // namespace
}  // namespace sombrero::runtime
