// NVTX ranges: named phases ("forward", "allreduce", ...) that Nsight Systems shows on the
// timeline. NvtxRange pushes a range for its lifetime; SOMBRERO_NVTX_RANGE("name") declares
// one for the enclosing scope. Both compile to nothing without the CUDA backend. NVTX 3 is
// header-only (the toolkit's nvtx3/nvToolsExt.h) and costs almost nothing when no profiler
// is attached.
#pragma once

#if defined(SOMBRERO_HAVE_CUDA)
#include <nvtx3/nvToolsExt.h>
#endif

namespace sombrero::runtime {

class NvtxRange {
 public:
#if defined(SOMBRERO_HAVE_CUDA)
  explicit NvtxRange(const char* name) {
    nvtxRangePushA(name);
  }
  ~NvtxRange() {
    nvtxRangePop();
  }
#else
  explicit NvtxRange(const char* /*name*/) {}
#endif
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace sombrero::runtime

#define SOMBRERO_NVTX_CONCAT_INNER(a, b) a##b
#define SOMBRERO_NVTX_CONCAT(a, b) SOMBRERO_NVTX_CONCAT_INNER(a, b)
// SOMBRERO_NVTX_RANGE("phase"): an NVTX range from here to the end of the scope.
#define SOMBRERO_NVTX_RANGE(name) \
  const ::sombrero::runtime::NvtxRange SOMBRERO_NVTX_CONCAT(sombrero_nvtx_range_, __COUNTER__)(name)
