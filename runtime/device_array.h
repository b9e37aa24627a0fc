// DeviceArray<T>: n elements of a trivially copyable T (int32 indices, labels) on any device,
// for the buffers that are not Tensors (Tensors hold f32 / bf16 only): max-pool argmax, class
// labels, angle predictions. Memory comes from Storage (stream-ordered on CUDA, host memory on
// cpu and simt), so it follows the same ordering rules as Tensors.
//
//   DeviceArray<std::int32_t> labels(host_labels, x.device());   // uploaded
//   kernel(..., labels.data(), ...);
//   std::vector<std::int32_t> back = labels.to_vector();          // waits for the device
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "runtime/storage.h"

namespace sombrero::runtime {

template <typename T>
class DeviceArray {
  static_assert(std::is_trivially_copyable_v<T>, "DeviceArray holds trivially copyable types");

 public:
  DeviceArray() = default;
  // Uninitialised, `size` elements.
  DeviceArray(std::size_t size, Device device)
      : storage_(Storage::allocate(size * sizeof(T), device)), size_(size) {}
  // A copy of `size` elements at `host`.
  DeviceArray(const T* host, std::size_t size, Device device) : DeviceArray(size, device) {
    copy_bytes(data(), device, host, Device::cpu(), size_ * sizeof(T));
  }
  // A copy of `host`.
  DeviceArray(const std::vector<T>& host, Device device)
      : DeviceArray(host.data(), host.size(), device) {}

  bool defined() const { return storage_ != nullptr; }
  std::size_t size() const { return size_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  T* data() { return storage_ ? static_cast<T*>(storage_->data()) : nullptr; }
  const T* data() const { return storage_ ? static_cast<const T*>(storage_->data()) : nullptr; }

  std::vector<T> to_vector() const {
    std::vector<T> host(size_);
    if (size_ > 0) copy_bytes(host.data(), Device::cpu(), data(), device(), size_ * sizeof(T));
    return host;
  }

 private:
  std::shared_ptr<Storage> storage_;
  std::size_t size_ = 0;
};

}  // namespace sombrero::runtime
