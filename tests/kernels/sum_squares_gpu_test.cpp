// sum_squares on a real GPU against the CPU backend, and bit for bit against its SIMT
// execution (the kernel's arithmetic is explicit, so the two must agree exactly).
// Skips with a message when no CUDA device is present.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/reduce/sum_squares.h"
#include "runtime/cuda_check.h"
#include "runtime/device_info.h"

namespace sombrero::kernels {
namespace {

template <typename T>
float gpu_sum_squares(const std::vector<T>& x) {
  T* device_x = nullptr;
  float* workspace = nullptr;
  float* result = nullptr;
  const std::size_t workspace_floats = sum_squares_workspace_floats(x.size());
  SOMBRERO_CHECK_CUDA(cudaMalloc(&device_x, std::max<std::size_t>(1, x.size()) * sizeof(T)));
  SOMBRERO_CHECK_CUDA(cudaMalloc(&workspace, workspace_floats * sizeof(float)));
  SOMBRERO_CHECK_CUDA(cudaMalloc(&result, sizeof(float)));
  SOMBRERO_CHECK_CUDA(cudaMemcpy(device_x, x.data(), x.size() * sizeof(T), cudaMemcpyHostToDevice));
  cuda::sum_squares(device_x, x.size(), workspace, result, nullptr);
  float host_result = -1.0f;
  SOMBRERO_CHECK_CUDA(cudaMemcpy(&host_result, result, sizeof(float), cudaMemcpyDeviceToHost));
  SOMBRERO_CHECK_CUDA(cudaFree(device_x));
  SOMBRERO_CHECK_CUDA(cudaFree(workspace));
  SOMBRERO_CHECK_CUDA(cudaFree(result));
  return host_result;
}

template <typename T>
float simt_sum_squares(const std::vector<T>& x) {
  std::vector<float> workspace(sum_squares_workspace_floats(x.size()));
  float result = -1.0f;
  simt::sum_squares(x.data(), x.size(), workspace.data(), &result, nullptr);
  return result;
}

TEST(SumSquaresGpu, MatchesCpuBackendAndSimtExecution) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  std::mt19937 random(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{70001},
                              std::size_t{3000017}}) {
    std::vector<float> x(n);
    for (float& v : x) v = normal(random);
    std::vector<bf16> xb(n);
    for (std::size_t i = 0; i < n; ++i) xb[i] = float_to_bf16(x[i]);
    const float cpu_f32 = cpu::sum_squares(x.data(), n);
    const float cpu_bf16 = cpu::sum_squares(xb.data(), n);
    const float gpu_f32 = gpu_sum_squares(x);
    const float gpu_bf16 = gpu_sum_squares(xb);
    EXPECT_NEAR(gpu_f32, cpu_f32, 1e-5 * cpu_f32 + 1e-30) << "n=" << n;
    EXPECT_NEAR(gpu_bf16, cpu_bf16, 1e-5 * cpu_bf16 + 1e-30) << "n=" << n;
    if (n <= 70001) {  // the SIMT execution of a few thousand blocks takes a while
      EXPECT_EQ(gpu_f32, simt_sum_squares(x)) << "GPU and SIMT execution differ, n=" << n;
      EXPECT_EQ(gpu_bf16, simt_sum_squares(xb)) << "GPU and SIMT execution differ, n=" << n;
    }
  }
}

}  // namespace
}  // namespace sombrero::kernels
