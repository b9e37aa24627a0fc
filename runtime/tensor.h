// Tensor: a dense, contiguous, row-major array of rank 0..4 (NHWC activations by convention)
// of f32 or bf16 elements on the CPU, a CUDA device or `simt` (host memory on which kernel ops
// run the CUDA sources through runtime/simt), with shared, reference-counted storage.
//
//   Tensor x = Tensor::empty({8, 32, 32, 3}, DType::f32, Device::cuda(0));
//   Generator gen(42);
//   x.fill_normal(gen, 0.0f, 1.0f);          // same numbers on every device (runtime/philox.h)
//   Tensor batch = x.slice(2, 6);            // a view of images 2..5, shares x's storage
//   Tensor flat = x.reshape({8, 3072});      // a view with the same number of elements
//   Tensor host = x.to(Device::cpu());       // a copy
//   float* p = host.data<float>();           // typed access, dtype-checked
//
// Views (reshape, slice along dimension 0) share storage: writes through one are seen by
// the others, and the storage lives while any of them does. Copies (to, clone, to_dtype,
// copy_from) never alias. On CUDA, memory comes from stream-ordered allocation on the
// device's context stream (runtime/cuda_context.h), and fills, conversions and copies are
// enqueued on that stream; data<T>() is then a device pointer. Operations that return data
// to the host (to(Device::cpu()), to_floats) wait for it.
// Every misuse (shape, dtype, device) is a sombrero::Error naming the operation and shapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/bf16.h"
#include "runtime/dtype.h"
#include "runtime/generator.h"
#include "runtime/shape.h"
#include "runtime/stream_fwd.h"

namespace sombrero::runtime {

class Storage;

// The DType of a C++ element type: float -> f32, sombrero::bf16 -> bf16.
template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<bf16> {
  static constexpr DType value = DType::bf16;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false, every operation but defined() throws

  // Uninitialised storage. Throws for a CUDA device without the CUDA backend or a device.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value, DType dtype = DType::f32,
                     Device device = Device::cpu());
  // From row-major values (rounded to nearest even for bf16); values.size() must be numel.
  static Tensor from_floats(const Shape& shape, const std::vector<float>& values,
                            DType dtype = DType::f32, Device device = Device::cpu());

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t dim(int i) const { return shape_[i]; }
  std::int64_t numel() const { return shape_.numel(); }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool is_cpu() const { return device_.is_cpu(); }
  bool is_cuda() const { return device_.is_cuda(); }
  bool is_host() const { return device_.is_host(); }  // cpu or simt: host pointers
  // The CUDA stream this tensor's memory and operations are ordered on; nullptr on cpu.
  cudaStream_t stream() const;

  // Typed pointer to the first element (a device pointer on CUDA). Throws when T does not
  // match dtype(): data<float>() on a bf16 tensor is an error, not a reinterpretation.
  template <typename T>
  T* data() {
    check_element_type(DTypeOf<T>::value);
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    check_element_type(DTypeOf<T>::value);
    return static_cast<const T*>(raw_data());
  }
  void* raw_data();
  const void* raw_data() const;

  // Views. reshape keeps numel; slice(begin, end) is the rows [begin, end) of dimension 0
  // (e.g. a range of a batch) and keeps the rank.
  Tensor reshape(const Shape& shape) const;
  Tensor slice(std::int64_t begin, std::int64_t end) const;
  bool shares_storage_with(const Tensor& other) const { return storage_ == other.storage_; }

  // Copies. copy_from requires the same shape and dtype (devices may differ).
  void copy_from(const Tensor& source);
  Tensor to(Device device) const;  // always a new tensor, also for the same device
  Tensor clone() const;
  Tensor to_dtype(DType dtype) const;  // a new tensor on the same device; f32 -> bf16 rounds
                                       // to nearest, ties to even, NaN stays NaN
  // The values as an f32 tensor on the cpu: this tensor itself (shared) when it already is
  // one, else a converted copy. For host code that reads results (metrics, analysis).
  Tensor host_f32() const;
  // All elements as floats, in row-major order, from any device and dtype.
  std::vector<float> to_floats() const;

  // In place. Random fills draw from `generator` and advance it (runtime/generator.h);
  // bf16 elements receive the f32 values rounded to nearest even (so a bf16 uniform fill
  // can reach hi by rounding).
  void fill(float value);
  // Multiplies every element by `factor` (f32 tensors; e.g. averaging all-reduced gradients).
  void scale(float factor);
  void fill_uniform(Generator& generator, float lo = 0.0f, float hi = 1.0f);
  void fill_normal(Generator& generator, float mean = 0.0f, float stddev = 1.0f);

  // "Tensor([2, 3], f32, cpu) {0, 1, 2, 3, 4, 5}" with at most `max_values` values.
  std::string to_string(std::size_t max_values = 8) const;

 private:
  Tensor(std::shared_ptr<Storage> storage, std::size_t offset, const Shape& shape, DType dtype,
         Device device)
      : storage_(std::move(storage)),
        offset_(offset),
        shape_(shape),
        dtype_(dtype),
        device_(device) {}

  void check_defined(const char* operation) const;
  void check_element_type(DType requested) const;

  std::shared_ptr<Storage> storage_;
  std::size_t offset_ = 0;  // bytes from the start of the storage
  Shape shape_;
  DType dtype_ = DType::f32;
  Device device_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// to_dtype(bf16) of many f32 tensors at once: targets[i] = sources[i] rounded to bf16, the
// same bits as sources[i].to_dtype(DType::bf16), on a CUDA device in one launch per 64
// tensors instead of one each (the per-layer weight conversions of a bf16 forward). Every
// target is allocated here on its source's device; the sources must share one device.
std::vector<Tensor> to_bf16_together(const std::vector<Tensor>& sources);

}  // namespace sombrero::runtime

namespace sombrero {
using runtime::Tensor;
}  // namespace sombrero
