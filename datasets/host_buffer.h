// HostBuffer: host memory for batches. Page-locked (cudaHostAlloc) when the build has CUDA
// and a device is present, so copies to the GPU run asynchronously at full speed; otherwise
// plain 64-byte aligned memory. Move-only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sombrero::datasets {

class HostBuffer {
 public:
  HostBuffer() = default;
  // `pinned`: ask for page-locked memory (granted only with CUDA and a device).
  HostBuffer(std::size_t bytes, bool pinned);
  ~HostBuffer();
  HostBuffer(HostBuffer&& other) noexcept;
  HostBuffer& operator=(HostBuffer&& other) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  std::uint8_t* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  bool pinned() const { return pinned_; }

 private:
  void release();
  std::uint8_t* data_ = nullptr;
  std::size_t bytes_ = 0;
  bool pinned_ = false;
};

}  // namespace sombrero::datasets
