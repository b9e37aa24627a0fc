// A device array for `gpu` tests: allocated from host data, read back as a std::vector.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "runtime/cuda_check.h"

namespace sombrero::test {

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& host) : size_(host.size()) {
    SOMBRERO_CHECK_CUDA(cudaMalloc(&data_, std::max<std::size_t>(1, size_) * sizeof(T)));
    SOMBRERO_CHECK_CUDA(cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() { return data_; }
  std::vector<T> download() const {
    std::vector<T> host(size_);
    SOMBRERO_CHECK_CUDA(cudaDeviceSynchronize());
    SOMBRERO_CHECK_CUDA(cudaMemcpy(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* data_ = nullptr;
  std::size_t size_;
};

}  // namespace sombrero::test
