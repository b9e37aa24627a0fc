// safetensors files: the weight format of PyTorch's ecosystem (safetensors.torch.load_file /
// save_file read and write the same bytes).
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON header
//   {"__metadata__": {"key": "value", ...},
//    "name": {"dtype": "F32", "shape": [64, 3, 7, 7], "data_offsets": [begin, end]}, ...}
// (padded with spaces to a multiple of 8), then the data: each tensor row-major, little
// endian, at [begin, end) of the data section, tensors back to back with no gaps.
// Supported dtypes: F32, BF16 and I64 (BatchNorm's num_batches_tracked); a file holding
// another dtype is refused with a message naming the tensor and its dtype.
//
// Writes are atomic: the file is written under a temporary name in the same folder, flushed
// (fsync), renamed over the target and the folder synced, so a crash leaves the old file or
// the new one, never a torn one. Reads validate the whole header (offsets inside the file,
// sizes equal to shape x dtype, no overlaps or holes) before returning anything.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace sombrero::runtime {

enum class SafetensorsDType { F32, BF16, I64 };

const char* to_string(SafetensorsDType dtype);
std::size_t element_size(SafetensorsDType dtype);

struct SafetensorsTensor {
  SafetensorsDType dtype = SafetensorsDType::F32;
  std::vector<std::int64_t> shape;  // any rank; [] is a scalar
  std::vector<std::uint8_t> bytes;  // row-major, little endian

  std::int64_t numel() const;
  // From a Tensor (any device; f32 -> F32, bf16 -> BF16), or a scalar int64.
  static SafetensorsTensor from_tensor(const Tensor& tensor);
  static SafetensorsTensor from_int64(std::int64_t value);
  // As f32 values (F32 as is, BF16 widened); throws for I64.
  std::vector<float> to_floats() const;
  // A CPU Tensor (F32 -> f32, BF16 -> bf16; rank <= 4). Throws for I64.
  Tensor to_tensor() const;
  // The value of a scalar (or one-element) I64 tensor.
  std::int64_t to_int64() const;
};

struct SafetensorsFile {
  std::map<std::string, SafetensorsTensor> tensors;  // written in name order
  std::map<std::string, std::string> metadata;       // "__metadata__"
};

// Throws sombrero::Error naming the path and the problem (missing, truncated, bad header,
// unsupported dtype).
SafetensorsFile read_safetensors(const std::string& path);
void write_safetensors(const std::string& path, const SafetensorsFile& file);

// The shape as text: "[64, 3, 7, 7]".
std::string shape_text(const std::vector<std::int64_t>& shape);

}  // namespace sombrero::runtime
