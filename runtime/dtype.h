// Element types and devices: the two small value types every Tensor carries.
//   DType: f32 (IEEE binary32) or bf16 (bfloat16, runtime/bf16.h), with size and name.
//   Device: cpu, or cuda with a device index; printed "cpu" / "cuda:0" and parsed back.
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

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;  // CUDA device ordinal; always 0 for cpu

  static constexpr Device cpu() { return Device{DeviceKind::cpu, 0}; }
  static constexpr Device cuda(int index = 0) { return Device{DeviceKind::cuda, index}; }

  constexpr bool is_cpu() const { return kind == DeviceKind::cpu; }
  constexpr bool is_cuda() const { return kind == DeviceKind::cuda; }
  friend constexpr bool operator==(const Device&, const Device&) = default;
};

// "cpu" or "cuda:<index>".
std::string to_string(Device device);

// Parses "cpu", "cuda" (= cuda:0) or "cuda:<index>"; a clear error otherwise. Whether the
// device exists is checked when it is used, not here.
Device parse_device(std::string_view text);

}  // namespace sombrero::runtime
