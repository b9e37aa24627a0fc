#include "layers/ops/dispatch.h"

#include <cstdint>

#include "runtime/error.h"

namespace sombrero::layers::ops {

void check_same_device(const char* op, std::initializer_list<NamedTensor> tensors) {
  const NamedTensor& first = *tensors.begin();
  for (const NamedTensor& t : tensors) {
    SOMBRERO_CHECK(t.tensor->defined(), op, ": ", t.name, " is an undefined tensor");
    SOMBRERO_CHECK(t.tensor->device() == first.tensor->device(), op, ": ", first.name, " is on ",
                   to_string(first.tensor->device()), " but ", t.name, " is on ",
                   to_string(t.tensor->device()), "; the tensors of one op share a device");
  }
}

void check_dtype(const char* op, DType dtype, std::initializer_list<NamedTensor> tensors) {
  for (const NamedTensor& t : tensors)
    SOMBRERO_CHECK(t.tensor->dtype() == dtype, op, ": ", t.name, " is ",
                   runtime::dtype_name(t.tensor->dtype()), ", expected ",
                   runtime::dtype_name(dtype));
}

void check_cpu_backend_f32(const char* op, const Tensor& activation) {
  SOMBRERO_CHECK(!(activation.is_cpu() && activation.dtype() == DType::bf16), op,
                 ": the CPU backend computes in f32 and this tensor is bf16 (precision bf16 "
                 "needs train.device cuda, or simt to run the CUDA kernels on the CPU)");
}

void fail_cuda_not_built(const char* op) {
  SOMBRERO_FAIL(op,
                ": a CUDA tensor in a build without the CUDA backend (reconfigure with "
                "-DSOMBRERO_CUDA=ON on a machine with nvcc)");
}

Tensor workspace_floats(const Tensor& like, std::size_t floats) {
  if (floats == 0) return Tensor();
  return Tensor::empty({static_cast<std::int64_t>(floats)}, DType::f32, like.device());
}

}  // namespace sombrero::layers::ops
