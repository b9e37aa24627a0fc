// CUDA devices, streams, events and the per-device context: the one place sombrero talks to
// the CUDA runtime about devices, and to cuBLAS/cuDNN about handles.
//   - set_device(i): selects a device; an index out of range is an Error naming how many
//     devices exist.
//   - Stream (non-blocking) and Event: RAII wrappers.
//   - CudaContext::get(i): per-device state created on first use and kept for the life of the
//     process: the default compute stream every Tensor allocation, copy and runtime kernel
//     is ordered on; the device's default memory pool with its release threshold raised to
//     UINT64_MAX (so cudaFreeAsync'd memory stays cached in the pool instead of going back to
//     the driver at every synchronisation); lazily created cuBLAS and cuDNN handles bound to
//     that stream.
// Implemented in cuda_context.cpp, built only with the CUDA backend. The header compiles in
// every build (it names the CUDA handle types by forward declaration) so that host headers
// can mention them; code that calls these functions is itself CUDA-only.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>

#include "runtime/stream_fwd.h"

// The toolkit's own typedefs, repeated (identical) so that no CUDA header is needed here.
typedef struct CUevent_st* cudaEvent_t;
typedef struct cublasContext* cublasHandle_t;
typedef struct cudnnContext* cudnnHandle_t;

namespace sombrero::runtime {

// Number of CUDA devices usable by this process (0 without a driver or device).
int cuda_device_count();

// Makes `index` the calling thread's current device. Throws sombrero::Error when the index is
// out of range ("... 2 CUDA devices are present (cuda:0 .. cuda:1)") or none is present.
void set_device(int index);
int current_device();

// Sets the current device for a scope and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

// A non-blocking CUDA stream (does not synchronise with the legacy default stream).
class Stream {
 public:
  explicit Stream(int device);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  int device() const { return device_; }
  void synchronize() const;

 private:
  cudaStream_t stream_ = nullptr;
  int device_ = 0;
};

// A CUDA event with timing enabled.
class Event {
 public:
  explicit Event(int device);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void record(cudaStream_t stream);
  void synchronize() const;
  // Milliseconds between two recorded events (start recorded before end); waits for end.
  static float elapsed_ms(const Event& start, const Event& end);
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
  int device_ = 0;
};

class CudaContext {
 public:
  // The context of device `index`, created on first use (thread-safe). Throws like
  // set_device for an index out of range. Contexts live until the process exits.
  static CudaContext& get(int index);

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_->get(); }
  // Created on first call, bound to stream(). cudnn() throws in builds without cuDNN.
  cublasHandle_t cublas();
  cudnnHandle_t cudnn();
  // Waits for all work on the context's stream.
  void synchronize() const;
  // High-water mark of the bytes Tensors hold in the device's stream-ordered pool (what
  // torch.cuda.max_memory_allocated reports for PyTorch's allocator), and its reset.
  std::size_t peak_allocated_bytes() const;
  void reset_peak_allocated_bytes();

  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

 private:
  explicit CudaContext(int device);

  int device_;
  std::unique_ptr<Stream> stream_;
  std::mutex handles_mutex_;
  cublasHandle_t cublas_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
};

}  // namespace sombrero::runtime
