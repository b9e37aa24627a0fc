#include "datasets/host_buffer.h"

#include <cstdint>
#include <cstdlib>
#include <utility>

#include "runtime/error.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include <cuda_runtime.h>

#include "runtime/device_info.h"
#endif

namespace sombrero::datasets {

namespace {

constexpr std::size_t alignment = 64;

#if defined(SOMBRERO_HAVE_CUDA)
bool cuda_device_present() {
  static const bool present = !runtime::cuda_devices().empty();
  return present;
}
#endif

}  // namespace

HostBuffer::HostBuffer(std::size_t bytes, bool pinned) : bytes_(bytes) {
  if (bytes == 0) return;
#if defined(SOMBRERO_HAVE_CUDA)
  if (pinned && cuda_device_present()) {
    void* memory = nullptr;
    const cudaError_t status = cudaHostAlloc(&memory, bytes, cudaHostAllocDefault);
    SOMBRERO_CHECK(status == cudaSuccess, "cudaHostAlloc of ", bytes,
                   " bytes for a batch failed: ", cudaGetErrorString(status));
    data_ = static_cast<std::uint8_t*>(memory);
    pinned_ = true;
    return;
  }
#else
  (void)pinned;
#endif
  const std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  data_ = static_cast<std::uint8_t*>(std::aligned_alloc(alignment, rounded));
  SOMBRERO_CHECK(data_ != nullptr, "out of host memory allocating ", bytes, " bytes for a batch");
}

HostBuffer::~HostBuffer() {
  release();
}

HostBuffer::HostBuffer(HostBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      pinned_(std::exchange(other.pinned_, false)) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    pinned_ = std::exchange(other.pinned_, false);
  }
  return *this;
}

void HostBuffer::release() {
  if (data_ == nullptr) return;
#if defined(SOMBRERO_HAVE_CUDA)
  if (pinned_) {
    cudaFreeHost(data_);
    data_ = nullptr;
    return;
  }
#endif
  std::free(data_);
  data_ = nullptr;
}

}  // namespace sombrero::datasets
