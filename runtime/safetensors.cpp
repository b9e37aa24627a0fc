#include "runtime/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace sombrero::runtime {

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;  // as the reference implementation

SafetensorsDType parse_dtype_name(const std::string& name, const std::string& tensor,
                                  const std::string& path) {
  if (name == "F32") return SafetensorsDType::F32;
  if (name == "BF16") return SafetensorsDType::BF16;
  if (name == "I64") return SafetensorsDType::I64;
  SOMBRERO_FAIL(path, ": tensor '", tensor, "' has dtype ", name,
                "; sombrero reads F32, BF16 and I64");
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

const char* to_string(SafetensorsDType dtype) {
  switch (dtype) {
    case SafetensorsDType::F32:
      return "F32";
    case SafetensorsDType::BF16:
      return "BF16";
    case SafetensorsDType::I64:
      return "I64";
  }
  return "?";
}

std::size_t element_size(SafetensorsDType dtype) {
  return dtype == SafetensorsDType::F32 ? 4 : dtype == SafetensorsDType::BF16 ? 2 : 8;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  text += ']';
  return text;
}

std::int64_t SafetensorsTensor::numel() const {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) n *= d;
  return n;
}

SafetensorsTensor SafetensorsTensor::from_tensor(const Tensor& tensor) {
  const Tensor host = tensor.is_host() ? tensor : tensor.to(Device::cpu());
  SafetensorsTensor out;
  out.dtype = host.dtype() == DType::f32 ? SafetensorsDType::F32 : SafetensorsDType::BF16;
  for (int i = 0; i < host.rank(); ++i) out.shape.push_back(host.dim(i));
  const auto* begin = static_cast<const std::uint8_t*>(host.raw_data());
  out.bytes.assign(begin, begin + host.bytes());
  return out;
}

SafetensorsTensor SafetensorsTensor::from_int64(std::int64_t value) {
  SafetensorsTensor out;
  out.dtype = SafetensorsDType::I64;
  out.bytes.resize(8);
  std::memcpy(out.bytes.data(), &value, 8);
  return out;
}

std::vector<float> SafetensorsTensor::to_floats() const {
  SOMBRERO_CHECK(dtype != SafetensorsDType::I64, "safetensors: an I64 tensor is not float data");
  std::vector<float> values(static_cast<std::size_t>(numel()));
  if (dtype == SafetensorsDType::F32) {
    std::memcpy(values.data(), bytes.data(), values.size() * 4);
  } else {
    for (std::size_t i = 0; i < values.size(); ++i) {
      bf16 b;
      std::memcpy(&b.bits, bytes.data() + 2 * i, 2);
      values[i] = bf16_to_float(b);
    }
  }
  return values;
}

Tensor SafetensorsTensor::to_tensor() const {
  SOMBRERO_CHECK(dtype != SafetensorsDType::I64, "safetensors: an I64 tensor is not float data");
  SOMBRERO_CHECK(shape.size() <= 4, "safetensors: a tensor of rank ", shape.size(),
                 " does not fit a Tensor (rank <= 4)");
  Shape s;
  switch (shape.size()) {
    case 0:
      s = Shape{};
      break;
    case 1:
      s = Shape{shape[0]};
      break;
    case 2:
      s = Shape{shape[0], shape[1]};
      break;
    case 3:
      s = Shape{shape[0], shape[1], shape[2]};
      break;
    default:
      s = Shape{shape[0], shape[1], shape[2], shape[3]};
      break;
  }
  Tensor t = Tensor::empty(s, dtype == SafetensorsDType::F32 ? DType::f32 : DType::bf16);
  std::memcpy(t.raw_data(), bytes.data(), bytes.size());
  return t;
}

std::int64_t SafetensorsTensor::to_int64() const {
  SOMBRERO_CHECK(dtype == SafetensorsDType::I64 && numel() == 1,
                 "safetensors: expected a one-element I64 tensor, got ", to_string(dtype), " ",
                 shape_text(shape));
  std::int64_t value;
  std::memcpy(&value, bytes.data(), 8);
  return value;
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SOMBRERO_CHECK(in, path, ": cannot open (", errno_text(), ")");
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  SOMBRERO_CHECK(file_size >= 8, path, ": not a safetensors file (", file_size,
                 " bytes, shorter than the 8-byte header length)");
  std::uint8_t length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | length_bytes[i];
  SOMBRERO_CHECK(header_size <= kMaxHeaderBytes && header_size <= file_size - 8, path,
                 ": header length ", header_size, " does not fit the file (", file_size,
                 " bytes): truncated or not a safetensors file");
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    SOMBRERO_FAIL(path, ": the header is not valid JSON (", e.what(), ")");
  }
  SOMBRERO_CHECK(json.is_object(), path, ": the header is not a JSON object");
  const std::uint64_t data_size = file_size - 8 - header_size;

  SafetensorsFile file;
  struct Span {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& entry = it.value();
    if (name == "__metadata__") {
      SOMBRERO_CHECK(entry.is_object(), path, ": __metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        SOMBRERO_CHECK(m.value().is_string(), path, ": metadata '", m.key(), "' is not a string");
        file.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    SOMBRERO_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                       entry.contains("data_offsets") && entry["dtype"].is_string() &&
                       entry["shape"].is_array() && entry["data_offsets"].is_array() &&
                       entry["data_offsets"].size() == 2,
                   path, ": header entry '", name, "' lacks dtype, shape or data_offsets");
    SafetensorsTensor tensor;
    tensor.dtype = parse_dtype_name(entry["dtype"].get<std::string>(), name, path);
    for (const auto& d : entry["shape"]) {
      SOMBRERO_CHECK(d.is_number_integer() && d.get<std::int64_t>() >= 0, path, ": tensor '", name,
                     "' has an invalid shape");
      tensor.shape.push_back(d.get<std::int64_t>());
    }
    const auto& offsets = entry["data_offsets"];
    SOMBRERO_CHECK(offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(), path,
                   ": tensor '", name, "' has invalid data_offsets");
    const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    const std::uint64_t expected =
        static_cast<std::uint64_t>(tensor.numel()) * element_size(tensor.dtype);
    SOMBRERO_CHECK(begin <= end && end - begin == expected, path, ": tensor '", name, "' (",
                   to_string(tensor.dtype), " ", shape_text(tensor.shape), ") needs ", expected,
                   " bytes but its data_offsets span [", begin, ", ", end, ")");
    SOMBRERO_CHECK(end <= data_size, path, ": tensor '", name, "' ends at byte ", end,
                   " of a data section of ", data_size, " bytes: the file is truncated");
    spans.push_back({begin, end, name});
    file.tensors.emplace(name, std::move(tensor));
  }
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::uint64_t cursor = 0;
  for (const Span& span : spans) {
    SOMBRERO_CHECK(span.begin == cursor, path, ": tensor '", span.name, "' starts at byte ",
                   span.begin, ", expected ", cursor, " (overlapping or non-contiguous data)");
    cursor = span.end;
  }
  SOMBRERO_CHECK(cursor == data_size, path, ": ", data_size - cursor,
                 " bytes of data after the last tensor");
  // Read each tensor's bytes.
  const std::uint64_t data_start = 8 + header_size;
  for (const Span& span : spans) {
    SafetensorsTensor& tensor = file.tensors.at(span.name);
    tensor.bytes.resize(span.end - span.begin);
    in.seekg(static_cast<std::streamoff>(data_start + span.begin));
    in.read(reinterpret_cast<char*>(tensor.bytes.data()),
            static_cast<std::streamsize>(tensor.bytes.size()));
    SOMBRERO_CHECK(in, path, ": read error in tensor '", span.name, "'");
  }
  return file;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    SOMBRERO_CHECK(name != "__metadata__" && !name.empty(), path, ": invalid tensor name '", name,
                   "'");
    const std::uint64_t size =
        static_cast<std::uint64_t>(tensor.numel()) * element_size(tensor.dtype);
    SOMBRERO_CHECK(size == tensor.bytes.size(), path, ": tensor '", name, "' has ",
                   tensor.bytes.size(), " bytes for ", to_string(tensor.dtype), " ",
                   shape_text(tensor.shape));
    header[name] = {{"dtype", to_string(tensor.dtype)},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  const std::filesystem::path target(path);
  const std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string temporary_name = ".";
  temporary_name += target.filename().string();
  temporary_name += ".tmp.";
  temporary_name += std::to_string(::getpid());
  const std::string temporary = (folder / temporary_name).string();
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SOMBRERO_CHECK(fd >= 0, path, ": cannot write (", errno_text(), ")");
  auto write_all = [&](const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string reason = errno_text();
        ::close(fd);
        ::unlink(temporary.c_str());
        SOMBRERO_FAIL(path, ": write failed (", reason, ")");
      }
      p += n;
      size -= static_cast<std::size_t>(n);
    }
  };
  std::uint8_t length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<std::uint8_t>(text.size() >> (8 * i));
  write_all(length_bytes, 8);
  write_all(text.data(), text.size());
  for (const auto& [name, tensor] : file.tensors)
    write_all(tensor.bytes.data(), tensor.bytes.size());
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string reason = errno_text();
    ::unlink(temporary.c_str());
    SOMBRERO_FAIL(path, ": flushing failed (", reason, ")");
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(temporary.c_str());
    SOMBRERO_FAIL(path, ": rename failed (", reason, ")");
  }
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace sombrero::runtime
