// Status checks for every CUDA-family call: SOMBRERO_CHECK_CUDA, _CUBLAS, _CUDNN, _NCCL.
// A failing call throws sombrero::Error naming the call, the library's error name and
// string, and file:line. Include only from sources built with the CUDA backend.
#pragma once

#include <cuda_runtime.h>

#include "runtime/error.h"

#define SOMBRERO_CHECK_CUDA(call)                                                            \
  do {                                                                                       \
    const cudaError_t sombrero_status_ = (call);                                             \
    if (sombrero_status_ != cudaSuccess)                                                     \
      ::sombrero::throw_error(::sombrero::str("CUDA call `", #call, "` failed: ",            \
                                              cudaGetErrorName(sombrero_status_), " (",      \
                                              cudaGetErrorString(sombrero_status_), ")"),    \
                              __FILE__, __LINE__);                                           \
  } while (0)

#if defined(CUBLAS_VERSION) || __has_include(<cublas_v2.h>)
#include <cublas_v2.h>
#define SOMBRERO_CHECK_CUBLAS(call)                                                          \
  do {                                                                                       \
    const cublasStatus_t sombrero_status_ = (call);                                          \
    if (sombrero_status_ != CUBLAS_STATUS_SUCCESS)                                           \
      ::sombrero::throw_error(::sombrero::str("cuBLAS call `", #call, "` failed: ",          \
                                              cublasGetStatusName(sombrero_status_), " (",   \
                                              cublasGetStatusString(sombrero_status_), ")"), \
                              __FILE__, __LINE__);                                           \
  } while (0)
#endif

#if defined(SOMBRERO_HAVE_CUDNN)
#include <cudnn.h>
#define SOMBRERO_CHECK_CUDNN(call)                                                           \
  do {                                                                                       \
    const cudnnStatus_t sombrero_status_ = (call);                                           \
    if (sombrero_status_ != CUDNN_STATUS_SUCCESS)                                            \
      ::sombrero::throw_error(::sombrero::str("cuDNN call `", #call, "` failed: ",           \
                                              cudnnGetErrorString(sombrero_status_)),        \
                              __FILE__, __LINE__);                                           \
  } while (0)
#endif

#if defined(SOMBRERO_HAVE_NCCL)
#include <nccl.h>
#define SOMBRERO_CHECK_NCCL(call)                                                            \
  do {                                                                                       \
    const ncclResult_t sombrero_status_ = (call);                                            \
    if (sombrero_status_ != ncclSuccess)                                                     \
      ::sombrero::throw_error(::sombrero::str("NCCL call `", #call, "` failed: ",            \
                                              ncclGetErrorString(sombrero_status_)),         \
                              __FILE__, __LINE__);                                           \
  } while (0)
#endif
