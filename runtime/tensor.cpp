#include "runtime/tensor.h"

#include <algorithm>
#include <cstdint>
#include <ostream>

#include "runtime/error.h"
#include "runtime/storage.h"
#include "runtime/tensor_cpu.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include "runtime/tensor_kernels.h"
#endif

namespace sombrero::runtime {

namespace {

// "[2, 3] f32 cuda:0", the way messages name a tensor.
std::string describe(const Shape& shape, DType dtype, Device device) {
  return str(runtime::to_string(shape), " ", dtype_name(dtype), " ", to_string(device));
}

std::string describe(const Tensor& t) {
  return t.defined() ? describe(t.shape(), t.dtype(), t.device()) : std::string("(undefined)");
}

// The 16-bit view of a bf16 buffer, the element type the device kernels take.
[[maybe_unused]] std::uint16_t* bits(bf16* data) {
  return reinterpret_cast<std::uint16_t*>(data);
}
[[maybe_unused]] const std::uint16_t* bits(const bf16* data) {
  return reinterpret_cast<const std::uint16_t*>(data);
}

#if !defined(SOMBRERO_HAVE_CUDA)
// Tensor::empty refuses CUDA devices in such a build, so no CUDA tensor reaches these.
[[noreturn]] void fail_unreachable_cuda(const char* operation) {
  SOMBRERO_FAIL("Tensor::", operation, " on a CUDA tensor in a build without the CUDA backend");
}
#endif

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  try {
    const auto bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    return Tensor(Storage::allocate(bytes, device), 0, shape, dtype, device);
  } catch (const Error& e) {
    throw Error(str("Tensor::empty(", describe(shape, dtype, device), "): ", e.what()));
  }
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0f, dtype, device);
}

Tensor Tensor::full(const Shape& shape, float value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill(value);
  return t;
}

Tensor Tensor::from_floats(const Shape& shape, const std::vector<float>& values, DType dtype,
                           Device device) {
  SOMBRERO_CHECK(static_cast<std::int64_t>(values.size()) == shape.numel(),
                 "Tensor::from_floats: shape ", runtime::to_string(shape), " has ", shape.numel(),
                 " elements but ", values.size(), " values were given");
  Tensor host = empty(shape, DType::f32, Device::cpu());
  std::copy(values.begin(), values.end(), host.data<float>());
  Tensor typed = dtype == DType::f32 ? host : host.to_dtype(dtype);
  return device.is_cpu() ? typed : typed.to(device);
}

cudaStream_t Tensor::stream() const {
  check_defined("stream");
  return storage_->stream();
}

void* Tensor::raw_data() {
  check_defined("data");
  return static_cast<char*>(storage_->data()) + offset_;
}

const void* Tensor::raw_data() const {
  check_defined("data");
  return static_cast<const char*>(storage_->data()) + offset_;
}

void Tensor::check_defined(const char* operation) const {
  SOMBRERO_CHECK(defined(), "Tensor::", operation,
                 " on an undefined tensor (default-constructed, never assigned)");
}

void Tensor::check_element_type(DType requested) const {
  check_defined("data");
  SOMBRERO_CHECK(requested == dtype_, "Tensor::data<", dtype_name(requested), ">() on a ",
                 dtype_name(dtype_), " tensor ", describe(*this), ": use data<", dtype_name(dtype_),
                 ">() or convert with to_dtype(DType::", dtype_name(requested), ")");
}

Tensor Tensor::reshape(const Shape& shape) const {
  check_defined("reshape");
  SOMBRERO_CHECK(shape.numel() == numel(), "Tensor::reshape: cannot view ",
                 runtime::to_string(shape_), " (", numel(), " elements) as ",
                 runtime::to_string(shape), " (", shape.numel(), " elements)");
  return Tensor(storage_, offset_, shape, dtype_, device_);
}

Tensor Tensor::slice(std::int64_t begin, std::int64_t end) const {
  check_defined("slice");
  SOMBRERO_CHECK(rank() >= 1, "Tensor::slice(", begin, ", ", end,
                 ") needs a tensor of rank >= 1, got shape ", runtime::to_string(shape_));
  SOMBRERO_CHECK(0 <= begin && begin <= end && end <= shape_[0], "Tensor::slice(", begin, ", ", end,
                 ") is out of range for dimension 0 of shape ", runtime::to_string(shape_),
                 ": need 0 <= begin <= end <= ", shape_[0]);
  const std::size_t row_bytes =
      static_cast<std::size_t>(numel() / std::max<std::int64_t>(shape_[0], 1)) * dtype_size(dtype_);
  return Tensor(storage_, offset_ + static_cast<std::size_t>(begin) * row_bytes,
                shape_.with_extent(0, end - begin), dtype_, device_);
}

void Tensor::copy_from(const Tensor& source) {
  check_defined("copy_from");
  source.check_defined("copy_from (source)");
  SOMBRERO_CHECK(source.shape_ == shape_ && source.dtype_ == dtype_,
                 "Tensor::copy_from: the source ", describe(source),
                 " does not match the destination ", describe(*this),
                 " (shape and dtype must be equal; use reshape or to_dtype first)");
  try {
    copy_bytes(raw_data(), device_, source.raw_data(), source.device_, bytes());
  } catch (const Error& e) {
    throw Error(
        str("Tensor::copy_from(", describe(source), " -> ", describe(*this), "): ", e.what()));
  }
}

Tensor Tensor::to(Device device) const {
  check_defined("to");
  Tensor out = empty(shape_, dtype_, device);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::clone() const {
  return to(device_);
}

Tensor Tensor::to_dtype(DType dtype) const {
  check_defined("to_dtype");
  if (dtype == dtype_) return clone();
  Tensor out = empty(shape_, dtype, device_);
  const std::int64_t n = numel();
  if (device_.is_host()) {
    if (dtype == DType::bf16)
      cpu::convert_f32_to_bf16(data<float>(), out.data<bf16>(), n);
    else
      cpu::convert_bf16_to_f32(data<bf16>(), out.data<float>(), n);
    return out;
  }
#if defined(SOMBRERO_HAVE_CUDA)
  if (dtype == DType::bf16)
    cuda::convert_f32_to_bf16(data<float>(), bits(out.data<bf16>()), n, stream());
  else
    cuda::convert_bf16_to_f32(bits(data<bf16>()), out.data<float>(), n, stream());
  return out;
#else
  fail_unreachable_cuda("to_dtype");
#endif
}

std::vector<Tensor> to_bf16_together(const std::vector<Tensor>& sources) {
  std::vector<Tensor> targets;
  targets.reserve(sources.size());
  for (const Tensor& source : sources) {
    SOMBRERO_CHECK(source.defined() && source.dtype() == DType::f32,
                   "to_bf16_together: every source must be a defined f32 tensor");
    SOMBRERO_CHECK(source.device() == sources.front().device(), "to_bf16_together: sources on ",
                   to_string(sources.front().device()), " and ", to_string(source.device()));
    targets.push_back(Tensor::empty(source.shape(), DType::bf16, source.device()));
  }
  if (sources.empty()) return targets;
  if (sources.front().device().is_host()) {
    for (std::size_t i = 0; i < sources.size(); ++i)
      cpu::convert_f32_to_bf16(sources[i].data<float>(), targets[i].data<bf16>(),
                               sources[i].numel());
    return targets;
  }
#if defined(SOMBRERO_HAVE_CUDA)
  for (std::size_t first = 0; first < sources.size(); first += kConversionBatch) {
    ConversionBatch batch;
    for (std::size_t i = first; i < sources.size() && batch.count < kConversionBatch; ++i) {
      batch.source[batch.count] = sources[i].data<float>();
      batch.target[batch.count] = bits(targets[i].data<bf16>());
      batch.elements[batch.count] = sources[i].numel();
      ++batch.count;
    }
    cuda::convert_f32_to_bf16_batch(batch, sources.front().stream());
  }
  return targets;
#else
  fail_unreachable_cuda("to_bf16_together");
#endif
}

Tensor Tensor::host_f32() const {
  check_defined("host_f32");
  if (device_.is_cpu() && dtype_ == DType::f32) return *this;
  const Tensor f32 = dtype_ == DType::f32 ? *this : to_dtype(DType::f32);
  return f32.device_.is_cpu() ? f32 : f32.to(Device::cpu());
}

std::vector<float> Tensor::to_floats() const {
  check_defined("to_floats");
  Tensor host = device_.is_host() ? *this : to(Device::cpu());
  if (host.dtype_ == DType::bf16) host = host.to_dtype(DType::f32);
  const float* p = host.data<float>();
  return std::vector<float>(p, p + numel());
}

void Tensor::fill(float value) {
  check_defined("fill");
  const std::int64_t n = numel();
  if (device_.is_host()) {
    if (dtype_ == DType::f32)
      cpu::fill_f32(data<float>(), n, value);
    else
      cpu::fill_bf16(data<bf16>(), n, value);
    return;
  }
#if defined(SOMBRERO_HAVE_CUDA)
  if (dtype_ == DType::f32)
    cuda::fill_f32(data<float>(), n, value, stream());
  else
    cuda::fill_bf16(bits(data<bf16>()), n, value, stream());
#else
  fail_unreachable_cuda("fill");
#endif
}

void Tensor::scale(float factor) {
  check_defined("scale");
  SOMBRERO_CHECK(dtype_ == DType::f32, "Tensor::scale on ", describe(*this),
                 ": only f32 tensors are scaled in place");
  const std::int64_t n = numel();
  if (device_.is_host()) {
    float* p = data<float>();
    for (std::int64_t i = 0; i < n; ++i) p[i] *= factor;
    return;
  }
#if defined(SOMBRERO_HAVE_CUDA)
  cuda::scale_f32(data<float>(), n, factor, stream());
#else
  fail_unreachable_cuda("scale");
#endif
}

void Tensor::fill_uniform(Generator& generator, float lo, float hi) {
  check_defined("fill_uniform");
  SOMBRERO_CHECK(lo <= hi, "Tensor::fill_uniform(", lo, ", ", hi, ") on ", describe(*this),
                 ": need lo <= hi");
  const std::int64_t n = numel();
  const PhiloxKey key = generator.key();
  const std::uint64_t first = generator.reserve(static_cast<std::uint64_t>(n));
  if (device_.is_host()) {
    if (dtype_ == DType::f32)
      cpu::fill_uniform_f32(data<float>(), n, key, first, lo, hi);
    else
      cpu::fill_uniform_bf16(data<bf16>(), n, key, first, lo, hi);
    return;
  }
#if defined(SOMBRERO_HAVE_CUDA)
  if (dtype_ == DType::f32)
    cuda::fill_uniform_f32(data<float>(), n, key, first, lo, hi, stream());
  else
    cuda::fill_uniform_bf16(bits(data<bf16>()), n, key, first, lo, hi, stream());
#else
  fail_unreachable_cuda("fill_uniform");
#endif
}

void Tensor::fill_normal(Generator& generator, float mean, float stddev) {
  check_defined("fill_normal");
  SOMBRERO_CHECK(stddev >= 0.0f, "Tensor::fill_normal(mean ", mean, ", stddev ", stddev, ") on ",
                 describe(*this), ": need stddev >= 0");
  const std::int64_t n = numel();
  const PhiloxKey key = generator.key();
  const std::uint64_t first = generator.reserve(static_cast<std::uint64_t>(n));
  if (device_.is_host()) {
    if (dtype_ == DType::f32)
      cpu::fill_normal_f32(data<float>(), n, key, first, mean, stddev);
    else
      cpu::fill_normal_bf16(data<bf16>(), n, key, first, mean, stddev);
    return;
  }
#if defined(SOMBRERO_HAVE_CUDA)
  if (dtype_ == DType::f32)
    cuda::fill_normal_f32(data<float>(), n, key, first, mean, stddev, stream());
  else
    cuda::fill_normal_bf16(bits(data<bf16>()), n, key, first, mean, stddev, stream());
#else
  fail_unreachable_cuda("fill_normal");
#endif
}

std::string Tensor::to_string(std::size_t max_values) const {
  if (!defined()) return "Tensor(undefined)";
  std::string out = str("Tensor(", runtime::to_string(shape_), ", ", dtype_name(dtype_), ", ",
                        runtime::to_string(device_), ")");
  if (max_values == 0) return out;
  const auto shown = std::min(numel(), static_cast<std::int64_t>(max_values));
  const std::vector<float> values = reshape(Shape{numel()}).slice(0, shown).to_floats();
  out += " {";
  for (std::size_t i = 0; i < values.size(); ++i) out += str(i ? ", " : "", values[i]);
  if (numel() > shown) out += ", ...";
  return out + "}";
}

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
  return out << tensor.to_string();
}

}  // namespace sombrero::runtime
