// Tensor on a CUDA device against the same operations on the CPU: copies bit for bit, fills,
// random fills (same seed/offset -> same numbers), f32 <-> bf16 conversion, and the CUDA
// context (streams, events, memory pool, cuBLAS handle). Skipped with a message when no
// device is present.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/cuda_context.h"
#include "runtime/device_info.h"
#include "runtime/nvtx.h"
#include "runtime/tensor.h"
#include "tests/runtime/error_of.h"

namespace sombrero::runtime {
namespace {

using ::sombrero::test_support::error_of;
using ::testing::HasSubstr;

class TensorGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_devices().empty()) GTEST_SKIP() << "no CUDA device: " << cuda_unavailable_reason();
  }
  const Device gpu = Device::cuda(0);
};

// Deterministic arbitrary 32-bit patterns (including NaNs, infinities and denormals).
std::vector<std::uint32_t> bit_patterns(std::size_t n) {
  std::vector<std::uint32_t> out(n);
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& v : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v = static_cast<std::uint32_t>(x >> 16);
  }
  return out;
}

Tensor tensor_of_bits(const std::vector<std::uint32_t>& bits) {
  Tensor t = Tensor::empty({static_cast<std::int64_t>(bits.size())});
  std::memcpy(t.raw_data(), bits.data(), t.bytes());
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  return ha.bytes() == hb.bytes() && std::memcmp(ha.raw_data(), hb.raw_data(), ha.bytes()) == 0;
}

TEST(CudaContext, SetDeviceOutOfRangeNamesHowManyDevicesExist) {
  // Runs with or without a device: both cases must be a clear error.
  const int count = cuda_device_count();
  const std::string message = error_of([&] { set_device(count); });
  if (count == 0) {
    EXPECT_THAT(message, HasSubstr("CUDA device cuda:0 is not available"));
    EXPECT_THAT(message, HasSubstr(cuda_unavailable_reason()));
  } else {
    EXPECT_THAT(message, HasSubstr(str("CUDA device index ", count, " is out of range: ", count)));
    EXPECT_THAT(message, HasSubstr(str("(cuda:0 .. cuda:", count - 1, ")")));
  }
  EXPECT_THAT(error_of([] { set_device(-1); }), HasSubstr("cuda:"));
}

TEST_F(TensorGpu, ContextOwnsStreamPoolAndCublasHandle) {
  CudaContext& context = CudaContext::get(0);
  EXPECT_EQ(&context, &CudaContext::get(0));
  EXPECT_NE(context.stream(), nullptr);
  cudaMemPool_t pool = nullptr;
  ASSERT_EQ(cudaDeviceGetDefaultMemPool(&pool, 0), cudaSuccess);
  std::uint64_t threshold = 0;
  ASSERT_EQ(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold),
            cudaSuccess);
  EXPECT_EQ(threshold, UINT64_MAX);
  cublasHandle_t handle = context.cublas();
  EXPECT_EQ(handle, context.cublas());
  cudaStream_t bound = nullptr;
  ASSERT_EQ(cublasGetStream(handle, &bound), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(bound, context.stream());
  const Tensor t = Tensor::empty({16}, DType::f32, gpu);
  EXPECT_EQ(t.stream(), context.stream());
  EXPECT_TRUE(t.is_cuda());
}

TEST_F(TensorGpu, CpuToCudaToCpuRoundTripIsBitwise) {
  const Tensor host = tensor_of_bits(bit_patterns(100003));
  const Tensor device = host.to(gpu);
  EXPECT_EQ(device.device(), gpu);
  EXPECT_EQ(device.shape(), host.shape());
  EXPECT_TRUE(same_bytes(device, host));
  const Tensor half = Tensor::from_floats({3, 5}, std::vector<float>(15, 1.5f), DType::bf16, gpu);
  EXPECT_EQ(half.to_floats(), std::vector<float>(15, 1.5f));
}

TEST_F(TensorGpu, CudaToCudaCopiesAndViews) {
  const Tensor host = tensor_of_bits(bit_patterns(4096)).reshape({4, 32, 32});
  const Tensor a = host.to(gpu);
  const Tensor b = a.clone();
  EXPECT_FALSE(b.shares_storage_with(a));
  EXPECT_TRUE(same_bytes(b, host));
  Tensor c = Tensor::zeros({2, 32, 32}, DType::f32, gpu);
  c.copy_from(a.slice(1, 3));
  EXPECT_TRUE(same_bytes(c, host.slice(1, 3)));
  EXPECT_THAT(error_of([&] { c.copy_from(a); }),
              HasSubstr("the source [4, 32, 32] f32 cuda:0 does not match the destination "
                        "[2, 32, 32] f32 cuda:0"));
  if (cuda_devices().size() >= 2) {
    const Tensor other = a.to(Device::cuda(1));
    EXPECT_EQ(other.stream(), CudaContext::get(1).stream());
    EXPECT_TRUE(same_bytes(other, host));
  }
}

TEST_F(TensorGpu, FillOnDeviceIncludingASlice) {
  Tensor t = Tensor::zeros({4, 3}, DType::f32, gpu);
  t.slice(1, 3).fill(2.5f);
  EXPECT_EQ(t.to_floats(),
            (std::vector<float>{0, 0, 0, 2.5f, 2.5f, 2.5f, 2.5f, 2.5f, 2.5f, 0, 0, 0}));
  Tensor h = Tensor::empty({1000}, DType::bf16, gpu);
  h.fill(1.0f + 0x1p-8f + 0x1p-20f);  // just above a tie: rounds up to 1 + 2^-7
  EXPECT_EQ(h.to_floats(), std::vector<float>(1000, 1.0f + 0x1p-7f));
}

TEST_F(TensorGpu, PeakAllocatedBytesSeesATensorAndResets) {
  CudaContext& context = CudaContext::get(0);
  context.synchronize();
  context.reset_peak_allocated_bytes();
  const std::size_t before = context.peak_allocated_bytes();
  {
    Tensor big = Tensor::empty({16 << 20}, DType::f32, gpu);  // 64 MiB
    context.synchronize();
    EXPECT_GE(context.peak_allocated_bytes(), before + big.bytes());
  }
  context.synchronize();
  context.reset_peak_allocated_bytes();
  EXPECT_LT(context.peak_allocated_bytes(), before + (std::size_t(64) << 20));
}

TEST_F(TensorGpu, ScaleOnDeviceEqualsCpuBitwise) {
  Generator gen(8);
  Tensor h = Tensor::empty({100003});
  h.fill_normal(gen, 0.0f, 3.0f);
  Tensor d = h.to(gpu);
  h.scale(0.125f + 0x1p-20f);
  d.scale(0.125f + 0x1p-20f);
  EXPECT_TRUE(same_bytes(d, h));
}

TEST_F(TensorGpu, UniformOnDeviceEqualsCpuBitwise) {
  for (const DType dtype : {DType::f32, DType::bf16}) {
    Generator on_gpu(31337, 5), on_cpu(31337, 5);
    Tensor d = Tensor::empty({1000003}, dtype, gpu);
    Tensor h = Tensor::empty({1000003}, dtype);
    d.fill_uniform(on_gpu, -1.0f, 4.0f);
    h.fill_uniform(on_cpu, -1.0f, 4.0f);
    EXPECT_EQ(on_gpu.offset(), on_cpu.offset());
    EXPECT_TRUE(same_bytes(d, h)) << dtype_name(dtype);
  }
}

// Normal values go through logf, sqrtf, cosf/sinf. sqrtf and the products are correctly
// rounded on both sides; CUDA's logf is within 1 ulp and cosf/sinf within 2 ulp (CUDA Math
// API accuracy tables), glibc's within 1 ulp each. The radius sqrt(-2 ln u1) halves the log's
// relative error, so |gpu - cpu| is at most ~(1 + 3 + 1) = 5 ulp of the value; we allow 8 ulp,
// i.e. 8 * 2^-23 relative. bf16 values are those f32 values rounded, so they may differ by one
// bf16 ulp (2^-7 relative) where the two f32 values straddle a rounding boundary; that happens
// with probability <= 8 * 2^-23 / 2^-7 = 1.2e-4 per element, so we require fewer than 1%.
TEST_F(TensorGpu, NormalOnDeviceMatchesCpuWithinLibmUlps) {
  constexpr std::int64_t n = 1 << 20;
  Generator on_gpu(2718, 12), on_cpu(2718, 12);
  Tensor d = Tensor::empty({n}, DType::f32, gpu);
  Tensor h = Tensor::empty({n});
  d.fill_normal(on_gpu);
  h.fill_normal(on_cpu);
  const std::vector<float> dv = d.to_floats(), hv = h.to_floats();
  for (std::int64_t i = 0; i < n; ++i) {
    const float tolerance = 8.0f * 0x1p-23f * std::fabs(hv[i]);
    ASSERT_LE(std::fabs(dv[i] - hv[i]), tolerance) << "element " << i << ": cpu " << hv[i];
  }

  Tensor d16 = Tensor::empty({n}, DType::bf16, gpu);
  Tensor h16 = Tensor::empty({n}, DType::bf16);
  d16.fill_normal(on_gpu);
  h16.fill_normal(on_cpu);
  const std::vector<float> d16v = d16.to_floats(), h16v = h16.to_floats();
  std::int64_t differ = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_LE(std::fabs(d16v[i] - h16v[i]), 0x1p-7f * std::fabs(h16v[i])) << "element " << i;
    differ += d16v[i] != h16v[i];
  }
  EXPECT_LT(differ, n / 100);
}

TEST_F(TensorGpu, Bf16ConversionOnDeviceEqualsCpu) {
  // f32 -> bf16: random patterns plus the rounding edge cases; NaN must stay NaN (the GPU
  // may return a canonical NaN), everything else must match bit for bit.
  std::vector<std::uint32_t> bits = bit_patterns(1 << 18);
  for (std::uint32_t edge :
       {0x3f808000u, 0x3f818000u, 0x3f808001u, 0x3f807fffu, 0x7f7fffffu, 0x00000001u, 0x80000000u,
        0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u})
    bits.push_back(edge);
  const Tensor host = tensor_of_bits(bits);
  const Tensor on_gpu = host.to(gpu).to_dtype(DType::bf16).to(Device::cpu());
  const Tensor on_cpu = host.to_dtype(DType::bf16);
  const bf16* g = on_gpu.data<bf16>();
  const bf16* c = on_cpu.data<bf16>();
  for (std::size_t i = 0; i < bits.size(); ++i) {
    const bool nan = (bits[i] & 0x7fffffffu) > 0x7f800000u;
    if (nan) {
      EXPECT_TRUE((g[i].bits & 0x7fffu) > 0x7f80u) << std::hex << bits[i];
    } else {
      ASSERT_EQ(g[i].bits, c[i].bits) << "f32 bits 0x" << std::hex << bits[i];
    }
  }
  // bf16 -> f32: all 65536 patterns, bit for bit.
  Tensor all = Tensor::empty({65536}, DType::bf16);
  for (std::uint32_t i = 0; i < 65536; ++i)
    all.data<bf16>()[i].bits = static_cast<std::uint16_t>(i);
  EXPECT_TRUE(same_bytes(all.to(gpu).to_dtype(DType::f32), all.to_dtype(DType::f32)));
}

// Many tensors at once (the per-layer weights of a bf16 forward): 70 of them, so two
// launches of the 64-tensor batch; sizes from 1 to 300001 elements; each the same bits as its
// own to_dtype, non-NaN patterns only (a NaN may come back canonical).
TEST_F(TensorGpu, Bf16ConversionTogetherEqualsOneByOne) {
  std::vector<Tensor> sources;
  for (int i = 0; i < 70; ++i) {
    const int n = i == 69 ? 300001 : 1 + 37 * i;
    std::vector<std::uint32_t> bits = bit_patterns(std::size_t(n));
    for (std::uint32_t& b : bits)
      if ((b & 0x7fffffffu) > 0x7f800000u) b = 0;  // NaN: may come back canonical
    sources.push_back(tensor_of_bits(bits).to(gpu));
  }
  const std::vector<Tensor> together = to_bf16_together(sources);
  ASSERT_EQ(together.size(), sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    EXPECT_EQ(together[i].device(), gpu);
    EXPECT_EQ(together[i].shape(), sources[i].shape());
    EXPECT_TRUE(same_bytes(together[i], sources[i].to_dtype(DType::bf16))) << "tensor " << i;
  }
}

TEST_F(TensorGpu, StreamAndEventTiming) {
  SOMBRERO_NVTX_RANGE("StreamAndEventTiming");
  Stream stream(0);
  EXPECT_NE(stream.get(), nullptr);
  stream.synchronize();
  CudaContext& context = CudaContext::get(0);
  Event start(0), end(0);
  Tensor t = Tensor::empty({1 << 24}, DType::f32, gpu);  // 64 MiB
  Generator g(1);
  start.record(context.stream());
  for (int i = 0; i < 10; ++i) t.fill_normal(g);
  end.record(context.stream());
  const float ms = Event::elapsed_ms(start, end);
  EXPECT_GT(ms, 0.0f);
  EXPECT_LT(ms, 10000.0f);
  Event a(0), b(0);
  a.record(stream.get());
  b.record(stream.get());
  EXPECT_GE(Event::elapsed_ms(a, b), 0.0f);
  context.synchronize();
}

}  // namespace
}  // namespace sombrero::runtime
