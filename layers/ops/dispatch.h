// How a Tensor-level op (layers/ops/*) reaches the three executions of a kernel family:
//   cpu   kernels::cpu::   the CPU backend, f32 only (bf16 is refused with a clear error)
//   cuda  kernels::cuda::  the hand-written kernels on device pointers, asynchronous on the
//                          tensors' stream (runtime/cuda_context.h); CUDA builds only
//   simt  kernels::simt::  the same .cu sources executed on host pointers by runtime/simt
// The ops take Tensors, check shapes, dtypes and devices once, and pick the element type
// (f32 or bf16) from the activations:
//
//   with_element_type(x.dtype(), [&](auto zero) {
//     using T = decltype(zero);
//     SOMBRERO_DEVICE_KERNEL(x.device(), relu_forward, n, x.data<T>(), y.data<T>(), x.stream());
//   });
#pragma once

#include <cstddef>
#include <initializer_list>
#include <utility>

#include "runtime/bf16.h"
#include "runtime/tensor.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include "runtime/cuda_context.h"
#endif

namespace sombrero::layers::ops {

using runtime::DType;

// body(float{}) or body(bf16{}) for the dtype; returns what body returns.
template <typename Body>
decltype(auto) with_element_type(DType dtype, Body&& body) {
  if (dtype == DType::f32) return body(float{});
  return body(bf16{});
}

struct NamedTensor {
  const char* name;
  const Tensor* tensor;
};

// Every tensor defined and on the first one's device; throws naming the op and the tensor.
void check_same_device(const char* op, std::initializer_list<NamedTensor> tensors);
// Every tensor of the given dtype (activations share one; statistics and parameters are f32).
void check_dtype(const char* op, DType dtype, std::initializer_list<NamedTensor> tensors);
// The CPU backend computes in f32: a bf16 tensor on the cpu device is refused.
void check_cpu_backend_f32(const char* op, const Tensor& activation);
// A CUDA tensor in a build without the CUDA backend cannot exist; named if it ever does.
[[noreturn]] void fail_cuda_not_built(const char* op);

// `floats` f32 of scratch on `like`'s device (stream-ordered on CUDA); undefined when 0.
Tensor workspace_floats(const Tensor& like, std::size_t floats);

}  // namespace sombrero::layers::ops

// Calls kernels::cuda::function(args...) for a CUDA device (under its DeviceGuard) and
// kernels::simt::function(args...) for the simt device. The cpu device is the caller's
// branch: its backend has other signatures.
#if defined(SOMBRERO_HAVE_CUDA)
#define SOMBRERO_DEVICE_KERNEL(device, function, ...)                   \
  do {                                                                  \
    if ((device).is_cuda()) {                                           \
      ::sombrero::runtime::DeviceGuard sombrero_guard_((device).index); \
      ::sombrero::kernels::cuda::function(__VA_ARGS__);                 \
    } else {                                                            \
      ::sombrero::kernels::simt::function(__VA_ARGS__);                 \
    }                                                                   \
  } while (0)
#else
#define SOMBRERO_DEVICE_KERNEL(device, function, ...)                                \
  do {                                                                               \
    if ((device).is_cuda()) ::sombrero::layers::ops::fail_cuda_not_built(#function); \
    ::sombrero::kernels::simt::function(__VA_ARGS__);                                \
  } while (0)
#endif
