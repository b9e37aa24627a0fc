// Read-only facts about the CUDA devices and libraries present at run time.
// Safe to call in any build and on any machine: without a CUDA backend, a driver or a
// device, it reports zero devices and says why instead of throwing.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace sombrero::runtime {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  int sm_count = 0;
  std::size_t total_memory = 0;  // bytes
  std::size_t free_memory = 0;   // bytes
  int memory_bus_bits = 0;
  int l2_bytes = 0;
  std::size_t shared_memory_per_block_optin = 0;
  bool cluster_launch = false;  // launches thread-block clusters (sm_90 and later)
};

struct CudaLibraryVersions {
  std::string runtime;  // "13.0", or "" when absent
  std::string driver;
  std::string cublas;
  std::string cudnn;
  std::string nccl;
};

// Devices usable by this process; empty without a CUDA backend, driver or device.
std::vector<DeviceInfo> cuda_devices();

// Why cuda_devices() is empty, in words ("this build has no CUDA backend", "no CUDA driver
// is installed", ...); "" when devices are present.
std::string cuda_unavailable_reason();

CudaLibraryVersions cuda_library_versions();

// Why the current CUDA device cannot run wgmma kernels (runtime/warpgroup_mma.h): the build
// lacks CUDA architecture 90a, or the device is not compute capability 9.0; "" when it can.
// Cheap after the first call per device (the answer is kept).
std::string wgmma_unavailable_reason();

}  // namespace sombrero::runtime
