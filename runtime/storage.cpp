#include "runtime/storage.h"

#include <cstring>
#include <new>

#include "runtime/device_info.h"
#include "runtime/error.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include "runtime/cuda_check.h"
#include "runtime/cuda_context.h"
#endif

namespace sombrero::runtime {

namespace {

#if !defined(SOMBRERO_HAVE_CUDA)
[[noreturn]] void fail_no_cuda_backend(Device device) {
  SOMBRERO_FAIL("CUDA device ", to_string(device), " is not available: ", cuda_unavailable_reason(),
                " (reconfigure with -DSOMBRERO_CUDA=ON on a machine with nvcc)");
}
#else
// Makes `waiter` wait for the work enqueued so far on `producer` (possibly another device).
void stream_wait(cudaStream_t waiter, cudaStream_t producer, int producer_device) {
  if (waiter == producer) return;
  DeviceGuard guard(producer_device);
  cudaEvent_t event = nullptr;
  SOMBRERO_CHECK_CUDA(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  const cudaError_t recorded = cudaEventRecord(event, producer);
  const cudaError_t waited =
      recorded == cudaSuccess ? cudaStreamWaitEvent(waiter, event, 0) : recorded;
  cudaEventDestroy(event);  // released once the recorded work completes
  SOMBRERO_CHECK_CUDA(waited);
}
#endif

}  // namespace

std::shared_ptr<Storage> Storage::allocate(std::size_t bytes, Device device) {
  if (device.is_host()) {
    void* data = nullptr;
    try {
      data = ::operator new(bytes, std::align_val_t(cpu_alignment));
    } catch (const std::bad_alloc&) {
      SOMBRERO_FAIL("out of host memory allocating ", bytes, " bytes");
    }
    return std::shared_ptr<Storage>(new Storage(data, bytes, device, nullptr));
  }
#if defined(SOMBRERO_HAVE_CUDA)
  CudaContext& context = CudaContext::get(device.index);
  void* data = nullptr;
  if (bytes > 0) {
    DeviceGuard guard(device.index);
    const cudaError_t status = cudaMallocAsync(&data, bytes, context.stream());
    if (status != cudaSuccess) {
      cudaGetLastError();
      SOMBRERO_FAIL("cannot allocate ", bytes, " bytes on ", to_string(device), ": ",
                    cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
    }
  }
  return std::shared_ptr<Storage>(new Storage(data, bytes, device, context.stream()));
#else
  fail_no_cuda_backend(device);
#endif
}

Storage::~Storage() {
  if (device_.is_host()) {
    ::operator delete(data_, std::align_val_t(cpu_alignment));
    return;
  }
#if defined(SOMBRERO_HAVE_CUDA)
  // A destructor cannot throw; a failure here (e.g. at process exit) only leaks to the pool.
  if (data_) cudaFreeAsync(data_, stream_);
#endif
}

void copy_bytes(void* target, Device to, const void* source, Device from, std::size_t bytes) {
  if (bytes == 0) return;
  if (to.is_host() && from.is_host()) {
    std::memmove(target, source, bytes);
    return;
  }
#if defined(SOMBRERO_HAVE_CUDA)
  if (from.is_host()) {  // host -> device
    CudaContext& context = CudaContext::get(to.index);
    SOMBRERO_CHECK_CUDA(
        cudaMemcpyAsync(target, source, bytes, cudaMemcpyHostToDevice, context.stream()));
    context.synchronize();
  } else if (to.is_host()) {  // device -> host
    CudaContext& context = CudaContext::get(from.index);
    SOMBRERO_CHECK_CUDA(
        cudaMemcpyAsync(target, source, bytes, cudaMemcpyDeviceToHost, context.stream()));
    context.synchronize();
  } else if (to.index == from.index) {  // same device: ordered on its stream
    CudaContext& context = CudaContext::get(to.index);
    SOMBRERO_CHECK_CUDA(
        cudaMemcpyAsync(target, source, bytes, cudaMemcpyDeviceToDevice, context.stream()));
  } else {  // peer copy: after the source's pending work, before its later work (its free)
    CudaContext& source_context = CudaContext::get(from.index);
    CudaContext& target_context = CudaContext::get(to.index);
    stream_wait(target_context.stream(), source_context.stream(), from.index);
    SOMBRERO_CHECK_CUDA(
        cudaMemcpyPeerAsync(target, to.index, source, from.index, bytes, target_context.stream()));
    stream_wait(source_context.stream(), target_context.stream(), to.index);
  }
#else
  fail_no_cuda_backend(to.is_cuda() ? to : from);
#endif
}

}  // namespace sombrero::runtime
