#include "layers/weights.h"

#include <cstdint>
#include <cstring>
#include <set>

#include "runtime/error.h"

namespace sombrero::layers {

using runtime::SafetensorsDType;
using runtime::SafetensorsTensor;

namespace {

std::vector<std::int64_t> dims(const Shape& shape) {
  std::vector<std::int64_t> out;
  for (int i = 0; i < shape.rank(); ++i) out.push_back(shape[i]);
  return out;
}

// The disk shape of an in-memory shape.
std::vector<std::int64_t> disk_shape(const Shape& shape, DiskLayout layout) {
  if (layout == DiskLayout::krsc_as_oihw) return {shape[0], shape[3], shape[1], shape[2]};
  return dims(shape);
}

std::string join(const std::vector<std::string>& names, std::size_t limit = 12) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) {
    if (i > 0) text += ", ";
    text += "'" + names[i] + "'";
  }
  if (names.size() > limit) text += str(" and ", names.size() - limit, " more");
  return text;
}

}  // namespace

SafetensorsTensor tensor_to_disk(const Tensor& tensor, DiskLayout layout) {
  const Tensor host = tensor.dtype() == runtime::DType::f32 && tensor.is_host()
                          ? tensor
                          : tensor.to(runtime::Device::cpu()).to_dtype(runtime::DType::f32);
  if (layout == DiskLayout::as_is) return SafetensorsTensor::from_tensor(host);
  const Shape& s = host.shape();  // [K, R, S, C]
  SOMBRERO_CHECK(s.rank() == 4, "tensor_to_disk: a KRSC weight must be rank 4");
  const std::int64_t K = s[0], R = s[1], S = s[2], C = s[3];
  SafetensorsTensor out;
  out.dtype = SafetensorsDType::F32;
  out.shape = {K, C, R, S};
  out.bytes.resize(static_cast<std::size_t>(host.numel()) * 4);
  const float* src = host.data<float>();
  auto* dst = reinterpret_cast<float*>(out.bytes.data());
  for (std::int64_t k = 0; k < K; ++k)
    for (std::int64_t r = 0; r < R; ++r)
      for (std::int64_t t = 0; t < S; ++t)
        for (std::int64_t c = 0; c < C; ++c)
          dst[((k * C + c) * R + r) * S + t] = src[((k * R + r) * S + t) * C + c];
  return out;
}

void tensor_from_disk(const SafetensorsTensor& stored, DiskLayout layout, Tensor& target,
                      const std::string& key) {
  SOMBRERO_CHECK(stored.dtype != SafetensorsDType::I64, "weights: '", key,
                 "' is I64 in the file; expected F32 or BF16");
  const std::vector<std::int64_t> expected = disk_shape(target.shape(), layout);
  SOMBRERO_CHECK(stored.shape == expected, "weights: shape mismatch for '", key, "': file has ",
                 runtime::shape_text(stored.shape), ", model expects ",
                 runtime::shape_text(expected));
  const std::vector<float> values = stored.to_floats();
  // A host f32 target is written in place; any other (cuda, bf16) through an f32 host copy.
  const bool in_place = target.is_host() && target.dtype() == runtime::DType::f32;
  Tensor host = in_place ? target : Tensor::empty(target.shape());
  float* dst = host.data<float>();
  if (layout == DiskLayout::as_is) {
    std::memcpy(dst, values.data(), values.size() * sizeof(float));
  } else {
    const Shape& s = target.shape();
    const std::int64_t K = s[0], R = s[1], S = s[2], C = s[3];
    for (std::int64_t k = 0; k < K; ++k)
      for (std::int64_t r = 0; r < R; ++r)
        for (std::int64_t t = 0; t < S; ++t)
          for (std::int64_t c = 0; c < C; ++c)
            dst[((k * R + r) * S + t) * C + c] = values[std::size_t(((k * C + c) * R + r) * S + t)];
  }
  if (in_place) return;
  target.copy_from(target.dtype() == runtime::DType::f32 ? host : host.to_dtype(target.dtype()));
}

std::map<std::string, SafetensorsTensor> model_state_to_safetensors(Model& model) {
  std::map<std::string, SafetensorsTensor> out;
  for (const NamedState& entry : model.state()) {
    if (entry.parameter != nullptr)
      out.emplace(entry.name, tensor_to_disk(entry.parameter->value, entry.parameter->layout));
    else if (entry.buffer.tensor != nullptr)
      out.emplace(entry.name, tensor_to_disk(*entry.buffer.tensor, DiskLayout::as_is));
    else
      out.emplace(entry.name, SafetensorsTensor::from_int64(*entry.buffer.counter));
  }
  return out;
}

void load_model_state(Model& model, const runtime::SafetensorsFile& file,
                      const LoadStateOptions& options) {
  const std::vector<NamedState> state = model.state();
  std::vector<std::string> missing, unexpected, problems;
  std::set<std::string> known;
  for (const NamedState& entry : state) {
    known.insert(entry.name);
    const auto it = file.tensors.find(entry.name);
    if (it == file.tensors.end()) {
      missing.push_back(entry.name);
      continue;
    }
    const SafetensorsTensor& stored = it->second;
    if (entry.buffer.counter != nullptr) {
      if (stored.dtype != SafetensorsDType::I64 || stored.numel() != 1)
        problems.push_back(str("'", entry.name, "' must be a one-element I64 tensor, file has ",
                               to_string(stored.dtype), " ", runtime::shape_text(stored.shape)));
      continue;
    }
    const Tensor& target =
        entry.parameter != nullptr ? entry.parameter->value : *entry.buffer.tensor;
    const DiskLayout layout =
        entry.parameter != nullptr ? entry.parameter->layout : DiskLayout::as_is;
    const std::vector<std::int64_t> expected = disk_shape(target.shape(), layout);
    if (stored.dtype == SafetensorsDType::I64)
      problems.push_back(str("'", entry.name, "' is I64 in the file, expected F32 or BF16"));
    else if (stored.shape != expected)
      problems.push_back(str("shape mismatch for '", entry.name, "': file has ",
                             runtime::shape_text(stored.shape), ", model expects ",
                             runtime::shape_text(expected)));
  }
  for (const auto& [name, stored] : file.tensors) {
    if (known.count(name) != 0) continue;
    bool ignored = false;
    for (const std::string& prefix : options.ignore_prefixes)
      ignored = ignored || name.rfind(prefix, 0) == 0;
    if (!ignored) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !problems.empty()) {
    std::string message = str("weights do not fit model ", model.architecture(), ":");
    if (!missing.empty()) message += str(" missing keys: ", join(missing), ";");
    if (!unexpected.empty()) message += str(" unexpected keys: ", join(unexpected), ";");
    for (const std::string& p : problems) message += " " + p + ";";
    message.pop_back();
    throw Error(message);
  }
  for (const NamedState& entry : state) {
    const SafetensorsTensor& stored = file.tensors.at(entry.name);
    if (entry.parameter != nullptr)
      tensor_from_disk(stored, entry.parameter->layout, entry.parameter->value, entry.name);
    else if (entry.buffer.tensor != nullptr)
      tensor_from_disk(stored, DiskLayout::as_is, *entry.buffer.tensor, entry.name);
    else
      *entry.buffer.counter = stored.to_int64();
  }
}

void save_model_weights(Model& model, const std::string& path,
                        const std::map<std::string, std::string>& metadata) {
  runtime::SafetensorsFile file;
  file.tensors = model_state_to_safetensors(model);
  file.metadata = metadata;
  if (file.metadata.count("architecture") == 0)
    file.metadata["architecture"] = model.architecture();
  runtime::write_safetensors(path, file);
}

void load_model_weights(Model& model, const std::string& path) {
  try {
    load_model_state(model, runtime::read_safetensors(path));
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind(path, 0) == 0) throw;
    throw Error(path + ": " + what);
  }
}

}  // namespace sombrero::layers
