#include "runtime/cuda_context.h"

#include <cstdint>
#include <vector>

#include "runtime/cuda_check.h"
#include "runtime/device_info.h"
#include "runtime/error.h"

namespace sombrero::runtime {

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: report zero, leave no error behind
    return 0;
  }
  return count;
}

namespace {

void check_device_index(int index) {
  const int count = cuda_device_count();
  if (count == 0)
    SOMBRERO_FAIL("CUDA device cuda:", index, " is not available: ", cuda_unavailable_reason());
  SOMBRERO_CHECK(index >= 0 && index < count, "CUDA device index ", index,
                 " is out of range: ", count, count == 1 ? " CUDA device is" : " CUDA devices are",
                 " present (cuda:0 .. cuda:", count - 1, ")");
}

}  // namespace

void set_device(int index) {
  check_device_index(index);
  SOMBRERO_CHECK_CUDA(cudaSetDevice(index));
}

int current_device() {
  int index = 0;
  SOMBRERO_CHECK_CUDA(cudaGetDevice(&index));
  return index;
}

DeviceGuard::DeviceGuard(int index) {
  check_device_index(index);
  previous_ = current_device();
  if (index != previous_) SOMBRERO_CHECK_CUDA(cudaSetDevice(index));
}

DeviceGuard::~DeviceGuard() {
  cudaSetDevice(previous_);
}

Stream::Stream(int device) : device_(device) {
  DeviceGuard guard(device);
  SOMBRERO_CHECK_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

Stream::~Stream() {
  cudaStreamDestroy(stream_);
}

void Stream::synchronize() const {
  SOMBRERO_CHECK_CUDA(cudaStreamSynchronize(stream_));
}

Event::Event(int device) : device_(device) {
  DeviceGuard guard(device);
  SOMBRERO_CHECK_CUDA(cudaEventCreate(&event_));
}

Event::~Event() {
  cudaEventDestroy(event_);
}

void Event::record(cudaStream_t stream) {
  SOMBRERO_CHECK_CUDA(cudaEventRecord(event_, stream));
}

void Event::synchronize() const {
  SOMBRERO_CHECK_CUDA(cudaEventSynchronize(event_));
}

float Event::elapsed_ms(const Event& start, const Event& end) {
  end.synchronize();
  float ms = 0.0f;
  SOMBRERO_CHECK_CUDA(cudaEventElapsedTime(&ms, start.event_, end.event_));
  return ms;
}

CudaContext& CudaContext::get(int index) {
  check_device_index(index);
  // Never destroyed: tensors freed during static destruction still find their stream.
  static std::mutex* mutex = new std::mutex;
  static auto* contexts = new std::vector<std::unique_ptr<CudaContext>>;
  std::lock_guard lock(*mutex);
  if (contexts->empty()) contexts->resize(static_cast<std::size_t>(cuda_device_count()));
  auto& slot = (*contexts)[static_cast<std::size_t>(index)];
  if (!slot) slot.reset(new CudaContext(index));
  return *slot;
}

CudaContext::CudaContext(int device) : device_(device) {
  DeviceGuard guard(device);
  cudaMemPool_t pool = nullptr;
  SOMBRERO_CHECK_CUDA(cudaDeviceGetDefaultMemPool(&pool, device));
  std::uint64_t threshold = UINT64_MAX;
  SOMBRERO_CHECK_CUDA(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  stream_ = std::make_unique<Stream>(device);
}

cublasHandle_t CudaContext::cublas() {
  std::lock_guard lock(handles_mutex_);
  if (!cublas_) {
    DeviceGuard guard(device_);
    SOMBRERO_CHECK_CUBLAS(cublasCreate(&cublas_));
    SOMBRERO_CHECK_CUBLAS(cublasSetStream(cublas_, stream()));
  }
  return cublas_;
}

cudnnHandle_t CudaContext::cudnn() {
#if defined(SOMBRERO_HAVE_CUDNN)
  std::lock_guard lock(handles_mutex_);
  if (!cudnn_) {
    DeviceGuard guard(device_);
    SOMBRERO_CHECK_CUDNN(cudnnCreate(&cudnn_));
    SOMBRERO_CHECK_CUDNN(cudnnSetStream(cudnn_, stream()));
  }
  return cudnn_;
#else
  SOMBRERO_FAIL("cuDNN was not found when sombrero was built: reconfigure with -DCUDNN_ROOT=<dir>");
#endif
}

void CudaContext::synchronize() const {
  stream_->synchronize();
}

namespace {
cudaMemPool_t default_pool(int device) {
  cudaMemPool_t pool = nullptr;
  SOMBRERO_CHECK_CUDA(cudaDeviceGetDefaultMemPool(&pool, device));
  return pool;
}
}  // namespace

std::size_t CudaContext::peak_allocated_bytes() const {
  std::uint64_t high = 0;
  SOMBRERO_CHECK_CUDA(
      cudaMemPoolGetAttribute(default_pool(device_), cudaMemPoolAttrUsedMemHigh, &high));
  return static_cast<std::size_t>(high);
}

void CudaContext::reset_peak_allocated_bytes() {
  std::uint64_t zero = 0;  // resets the high-water mark to what is in use now
  SOMBRERO_CHECK_CUDA(
      cudaMemPoolSetAttribute(default_pool(device_), cudaMemPoolAttrUsedMemHigh, &zero));
}

}  // namespace sombrero::runtime
