// Host launch function of the FastDivmod test kernel (fast_divmod_kernel.cu), built for
// SIMT (namespace simt, host pointers) and, with the CUDA backend, by nvcc (namespace cuda,
// device pointers).
#pragma once

#include "runtime/stream_fwd.h"

namespace sombrero::kernels::test {

// For i < count: quotients[i] = FastDivmod(divisor).div(dividends[i]), and divmod's quotient
// and remainder in divmod_quotients[i], remainders[i]; one thread per dividend.
#define SOMBRERO_FAST_DIVMOD_TEST_KERNEL                                         \
  void fast_divmod(const int* dividends, int count, int divisor, int* quotients, \
                   int* divmod_quotients, int* remainders, cudaStream_t stream);
namespace simt {
SOMBRERO_FAST_DIVMOD_TEST_KERNEL
}
namespace cuda {
SOMBRERO_FAST_DIVMOD_TEST_KERNEL
}
#undef SOMBRERO_FAST_DIVMOD_TEST_KERNEL

}  // namespace sombrero::kernels::test
