// Tensor's device kernels (runtime/tensor_kernels.cu) executed on the CPU through
// runtime/simt, against Tensor's CPU path: fills, Philox random fills and f32 <-> bf16
// conversion. Both run on the host with the same libm, so they must agree bit for bit.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/generator.h"
#include "runtime/simt/schedule.h"
#include "runtime/tensor.h"
#include "runtime/tensor_kernels.h"

namespace sombrero::runtime {
namespace {

template <typename T>
std::vector<T> cpu_values(const Tensor& t) {
  std::vector<T> v(t.numel());
  std::memcpy(v.data(), t.raw_data(), t.bytes());
  return v;
}

// Odd counts exercise the partial last Philox block and the grid tail.
constexpr std::int64_t kCounts[] = {1, 3, 1000, 4099};

TEST(TensorKernelsSimt, RandomFillsEqualTheCpuPathBitForBitUnderEverySchedule) {
  for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
    const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
    for (const std::int64_t n : kCounts) {
      Generator cpu_gen(42, 7);
      Tensor uniform = Tensor::empty(Shape{n}), normal = Tensor::empty(Shape{n});
      Tensor uniform16 = Tensor::empty(Shape{n}, DType::bf16);
      uniform.fill_uniform(cpu_gen, -1.0f, 3.0f);
      normal.fill_normal(cpu_gen, 0.5f, 2.0f);
      uniform16.fill_uniform(cpu_gen, 0.0f, 1.0f);

      Generator gen(42, 7);
      std::vector<float> u(n), g(n);
      std::vector<std::uint16_t> u16(n);
      simt::fill_uniform_f32(u.data(), n, gen.key(), gen.reserve(n), -1.0f, 3.0f, nullptr);
      simt::fill_normal_f32(g.data(), n, gen.key(), gen.reserve(n), 0.5f, 2.0f, nullptr);
      simt::fill_uniform_bf16(u16.data(), n, gen.key(), gen.reserve(n), 0.0f, 1.0f, nullptr);
      EXPECT_EQ(u, cpu_values<float>(uniform)) << "n=" << n;
      EXPECT_EQ(g, cpu_values<float>(normal)) << "n=" << n;
      EXPECT_EQ(u16, cpu_values<std::uint16_t>(uniform16)) << "n=" << n;
      EXPECT_EQ(gen.offset(), cpu_gen.offset());
    }
  }
}

TEST(TensorKernelsSimt, FillAndConversionEqualTheCpuPathBitForBit) {
  const std::int64_t n = 4099;
  Generator gen(3);
  Tensor source = Tensor::empty(Shape{n});
  source.fill_normal(gen, 0.0f, 100.0f);
  const std::vector<float> values = cpu_values<float>(source);

  std::vector<std::uint16_t> to16(n);
  simt::convert_f32_to_bf16(values.data(), to16.data(), n, nullptr);
  EXPECT_EQ(to16, cpu_values<std::uint16_t>(source.to_dtype(DType::bf16)));
  // The batch kernel (one launch, grid y = the tensor): three conversions of different
  // lengths, each equal to its own, under every schedule.
  for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
    const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
    std::vector<std::uint16_t> a(n), b(1), c(300);
    ConversionBatch batch;
    batch.count = 3;
    batch.source[0] = values.data(), batch.target[0] = a.data(), batch.elements[0] = n;
    batch.source[1] = values.data() + 5, batch.target[1] = b.data(), batch.elements[1] = 1;
    batch.source[2] = values.data() + 7, batch.target[2] = c.data(), batch.elements[2] = 300;
    simt::convert_f32_to_bf16_batch(batch, nullptr);
    EXPECT_EQ(a, to16);
    EXPECT_EQ(b[0], to16[5]);
    EXPECT_EQ(c, std::vector<std::uint16_t>(to16.begin() + 7, to16.begin() + 307));
  }
  std::vector<float> back(n);
  simt::convert_bf16_to_f32(to16.data(), back.data(), n, nullptr);
  EXPECT_EQ(back, source.to_dtype(DType::bf16).to_floats());

  std::vector<float> filled(n);
  std::vector<std::uint16_t> filled16(n);
  simt::fill_f32(filled.data(), n, 1.00390625f, nullptr);
  simt::fill_bf16(filled16.data(), n, 1.00390625f, nullptr);  // a tie: rounds to even, 1.0
  EXPECT_EQ(filled, std::vector<float>(n, 1.00390625f));
  EXPECT_EQ(filled16, cpu_values<std::uint16_t>(Tensor::full(Shape{n}, 1.00390625f, DType::bf16)));
  EXPECT_EQ(filled16[0], 0x3f80);

  // scale: the kernel's single rounding equals the host loop's `*=`.
  std::vector<float> scaled = values;
  simt::scale_f32(scaled.data(), n, 0.3f, nullptr);
  Tensor host_scaled = source.clone();
  host_scaled.scale(0.3f);
  EXPECT_EQ(scaled, host_scaled.to_floats());
  EXPECT_NE(scaled, values);
}

}  // namespace
}  // namespace sombrero::runtime
