#include "runtime/dtype.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/shape.h"
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
}

TEST(Device, ParseErrorsSayWhatIsExpected) {
  EXPECT_THAT(error_of([] { parse_device("gpu:0"); }),
              HasSubstr("unknown device 'gpu:0': expected 'cpu', 'cuda' or "
                        "'cuda:<index>'"));
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
