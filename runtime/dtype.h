// Element types and devices: the two small value types every Tensor carries.
//   DType: f32 (IEEE binary32) or bf16 (bfloat16, runtime/bf16.h), with size and name.
//   Device: cpu, cuda with a device index, or simt; printed "cpu" / "cuda:0" / "simt" and
//   parsed back. simt is host memory on which the Tensor-level kernel ops run the CUDA
//   kernel sources through the CPU SIMT executor (runtime/simt): the GPU code path of every
//   layer, loss and optimizer, executed and testable on a machine without a GPU. It is slow
//   (one fiber per CUDA thread) and meant for tests and debugging, not for training.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sombrero::runtime {

enum class DType { f32, bf16 };

// Bytes per element: 4 for f32, 2 for bf16.
constexpr std::size_t dtype_size(DType dtype) {
  return dtype == DType::f32 ? 4 : 2;
}

// "f32" or "bf16".
constexpr const char* dtype_name(DType dtype) {
  return dtype == DType::f32 ? "f32" : "bf16";
}

// Parses "f32" (also "float32") or "bf16" (also "bfloat16"); a clear error otherwise.
DType parse_dtype(std::string_view text);

enum class DeviceKind { cpu, cuda, simt };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;  // CUDA device ordinal; always 0 for cpu

  static constexpr Device cpu() { return Device{DeviceKind::cpu, 0}; }
  static constexpr Device cuda(int index = 0) { return Device{DeviceKind::cuda, index}; }
  static constexpr Device simt() { return Device{DeviceKind::simt, 0}; }

  constexpr bool is_cpu() const { return kind == DeviceKind::cpu; }
  constexpr bool is_cuda() const { return kind == DeviceKind::cuda; }
  constexpr bool is_simt() const { return kind == DeviceKind::simt; }
  // Host memory (cpu and simt): data<T>() pointers the CPU can read and write.
  constexpr bool is_host() const { return kind != DeviceKind::cuda; }
  friend constexpr bool operator==(const Device&, const Device&) = default;
};

// "cpu", "cuda:<index>" or "simt".
std::string to_string(Device device);

// Parses "cpu", "cuda" (= cuda:0), "cuda:<index>" or "simt"; a clear error otherwise. Whether the
// device exists is checked when it is used, not here.
Device parse_device(std::string_view text);

}  // namespace sombrero::runtime
