// Storage: one owned allocation of bytes on a device, shared (reference-counted) by a Tensor
// and all views of it; freed when the last one goes.
//   cpu, simt: 64-byte aligned host memory (aligned operator new).
//   cuda: stream-ordered memory, cudaMallocAsync / cudaFreeAsync on the device's context
//         stream (runtime/cuda_context.h), from the device's default pool. Work that uses the
//         memory on another stream must be ordered before the free by its author.
// copy_bytes moves bytes between any two devices with the same ordering rules.
#pragma once

#include <cstddef>
#include <memory>

#include "runtime/dtype.h"
#include "runtime/stream_fwd.h"

namespace sombrero::runtime {

class Storage {
 public:
  static constexpr std::size_t cpu_alignment = 64;

  // Throws sombrero::Error when the device is unavailable (no CUDA backend, no device, index
  // out of range) or memory runs out; the message names the bytes and the device.
  static std::shared_ptr<Storage> allocate(std::size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  // The stream the allocation is ordered on; nullptr for cpu.
  cudaStream_t stream() const { return stream_; }

 private:
  Storage(void* data, std::size_t bytes, Device device, cudaStream_t stream)
      : data_(data), bytes_(bytes), device_(device), stream_(stream) {}

  void* data_;
  std::size_t bytes_;
  Device device_;
  cudaStream_t stream_;
};

// Copies `bytes` from `source` on `from` to `target` on `to`. A copy that touches the CPU
// returns when it is complete; a copy between CUDA buffers is enqueued on the target device's
// stream, after the work already enqueued on the source device's stream, and the source's
// stream waits for it (so freeing the source afterwards is safe).
void copy_bytes(void* target, Device to, const void* source, Device from, std::size_t bytes);

}  // namespace sombrero::runtime
