// Test kernel for FastDivmod (kernels/common/fast_divmod.cuh): each thread divides one
// dividend by a divisor fixed at the launch, as the convolution kernels do per K step.
#include "kernels/common/fast_divmod.cuh"
#include "runtime/kernel_api.h"
#include "tests/kernels/fast_divmod_kernel.h"

namespace sombrero::kernels::test::SOMBRERO_EXEC {
namespace {

constexpr int kThreads = 128;

__global__ void __launch_bounds__(kThreads)
    fast_divmod_kernel(const int* dividends, int count, FastDivmod divisor, int* quotients,
                       int* divmod_quotients, int* remainders) {
  const int i = static_cast<int>(blockIdx.x) * kThreads + static_cast<int>(threadIdx.x);
  if (i >= count) return;
  quotients[i] = divisor.div(dividends[i]);
  divisor.divmod(dividends[i], divmod_quotients[i], remainders[i]);
}

}  // namespace

void fast_divmod(const int* dividends, int count, int divisor, int* quotients,
                 int* divmod_quotients, int* remainders, cudaStream_t stream) {
  if (count <= 0) return;
  const unsigned blocks = static_cast<unsigned>((count + kThreads - 1) / kThreads);
  SOMBRERO_LAUNCH(fast_divmod_kernel, dim3(blocks), dim3(kThreads), 0, stream, dividends, count,
                  FastDivmod(divisor), quotients, divmod_quotients, remainders);
}

}  // namespace sombrero::kernels::test::SOMBRERO_EXEC
