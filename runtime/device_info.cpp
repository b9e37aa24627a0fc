#include "runtime/device_info.h"

#include <map>
#include <mutex>

#include "runtime/error.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif
#if defined(SOMBRERO_HAVE_CUDNN)
#include <cudnn.h>
#endif
#if defined(SOMBRERO_HAVE_NCCL)
#include <nccl.h>
#endif

namespace sombrero::runtime {

#if defined(SOMBRERO_HAVE_CUDA)
namespace {

std::string cuda_version_string(int v) {
  return str(v / 1000, ".", (v % 1000) / 10);
}

// Device count, or -1 with the CUDA error when the runtime cannot even count.
int count_devices(cudaError_t* status_out) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status_out) *status_out = status;
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return -1;
  }
  return count;
}

}  // namespace

std::vector<DeviceInfo> cuda_devices() {
  std::vector<DeviceInfo> devices;
  const int count = count_devices(nullptr);
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    DeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.compute_major = prop.major;
    info.compute_minor = prop.minor;
    info.sm_count = prop.multiProcessorCount;
    info.total_memory = prop.totalGlobalMem;
    info.memory_bus_bits = prop.memoryBusWidth;
    info.l2_bytes = prop.l2CacheSize;
    info.shared_memory_per_block_optin = prop.sharedMemPerBlockOptin;
    int clusters = 0;
    if (cudaDeviceGetAttribute(&clusters, cudaDevAttrClusterLaunch, i) == cudaSuccess)
      info.cluster_launch = clusters != 0;
    int previous = 0;
    if (cudaGetDevice(&previous) == cudaSuccess && cudaSetDevice(i) == cudaSuccess) {
      std::size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) info.free_memory = free_bytes;
      cudaSetDevice(previous);
    }
    devices.push_back(info);
  }
  return devices;
}

std::string cuda_unavailable_reason() {
  cudaError_t status = cudaSuccess;
  const int count = count_devices(&status);
  if (count > 0) return "";
  if (count == 0 || status == cudaErrorNoDevice) return "no CUDA device is present";
  if (status == cudaErrorInsufficientDriver)
    return "no usable CUDA driver is installed (cudaErrorInsufficientDriver)";
  return str("the CUDA runtime reports ", cudaGetErrorName(status), ": ",
             cudaGetErrorString(status));
}

CudaLibraryVersions cuda_library_versions() {
  CudaLibraryVersions v;
  int runtime_version = 0, driver_version = 0;
  if (cudaRuntimeGetVersion(&runtime_version) == cudaSuccess)
    v.runtime = cuda_version_string(runtime_version);
  if (cudaDriverGetVersion(&driver_version) == cudaSuccess && driver_version > 0)
    v.driver = cuda_version_string(driver_version);
  else
    v.driver = "none";
  int cublas_version = 0;
  if (cublasGetProperty(MAJOR_VERSION, &cublas_version) == CUBLAS_STATUS_SUCCESS) {
    int minor = 0, patch = 0;
    cublasGetProperty(MINOR_VERSION, &minor);
    cublasGetProperty(PATCH_LEVEL, &patch);
    v.cublas = str(cublas_version, ".", minor, ".", patch);
  }
#if defined(SOMBRERO_HAVE_CUDNN)
  const std::size_t cudnn = cudnnGetVersion();  // e.g. 91400 for 9.14.0
  v.cudnn = str(cudnn / 10000, ".", (cudnn % 10000) / 100, ".", cudnn % 100);
#endif
#if defined(SOMBRERO_HAVE_NCCL)
  int nccl = 0;
  if (ncclGetVersion(&nccl) == ncclSuccess)
    v.nccl = str(nccl / 10000, ".", (nccl % 10000) / 100, ".", nccl % 100);
#endif
  return v;
}

std::string wgmma_unavailable_reason() {
#if !defined(SOMBRERO_HAVE_SM90A)
  return str("this build's CUDA architectures (", SOMBRERO_CUDA_ARCHS,
             ") do not include 90a, which wgmma needs");
#else
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();
    return "no usable CUDA device";
  }
  // Asked before every wgmma launch: the device's answer is kept (properties are fixed).
  static std::mutex mutex;
  static std::map<int, std::string> reasons;
  const std::lock_guard<std::mutex> lock(mutex);
  if (const auto it = reasons.find(device); it != reasons.end()) return it->second;
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, device) != cudaSuccess) {
    cudaGetLastError();
    return "no usable CUDA device";
  }
  const std::string reason =
      props.major == 9 && props.minor == 0
          ? std::string()
          : str("device ", device, " (", props.name, ") has compute capability ", props.major, ".",
                props.minor, "; wgmma runs on 9.0 (H100, H200) only");
  reasons.emplace(device, reason);
  return reason;
#endif
}

#else  // no CUDA backend

std::vector<DeviceInfo> cuda_devices() {
  return {};
}
std::string cuda_unavailable_reason() {
  return "this build has no CUDA backend";
}
CudaLibraryVersions cuda_library_versions() {
  return {};
}
std::string wgmma_unavailable_reason() {
  return "this build has no CUDA backend";
}

#endif

}  // namespace sombrero::runtime
