#include "trainer/device_input.h"

#include "datasets/normalize.h"
#include "kernels/input/normalize.h"
#include "layers/ops/dispatch.h"
#include "runtime/error.h"

#if defined(SOMBRERO_HAVE_CUDA)
#include "runtime/cuda_check.h"
#include "runtime/cuda_context.h"
#endif

namespace sombrero::trainer {

#if defined(SOMBRERO_HAVE_CUDA)
// On a CUDA device: the copy stream, and per slot the event after its copy (the compute
// stream waits on it) and the event after the last compute-stream work that used its buffer
// (its allocation or its normalize kernel; the next copy into it waits on that).
struct DeviceInputStage::CudaState {
  explicit CudaState(int device) : copies(device) {
    for (int i = 0; i < kSlots; ++i) {
      copied[i] = std::make_unique<runtime::Event>(device);
      released[i] = std::make_unique<runtime::Event>(device);
    }
  }
  runtime::Stream copies;
  std::array<std::unique_ptr<runtime::Event>, kSlots> copied;
  std::array<std::unique_ptr<runtime::Event>, kSlots> released;
  std::array<bool, kSlots> reading_host{};  // a copy from host memory not yet waited for
};
#else
struct DeviceInputStage::CudaState {};
#endif

DeviceInputStage::DeviceInputStage(const layers::Context& ctx, const datasets::Normalization& norm)
    : device_(ctx.device),
      dtype_(ctx.precision == layers::Precision::bf16 && !ctx.device.is_cpu()
                 ? runtime::DType::bf16
                 : runtime::DType::f32),
      norm_(norm) {
#if defined(SOMBRERO_HAVE_CUDA)
  if (device_.is_cuda()) cuda_ = std::make_unique<CudaState>(device_.index);
#else
  if (device_.is_cuda()) layers::ops::fail_cuda_not_built("DeviceInputStage");
#endif
}

DeviceInputStage::~DeviceInputStage() {
#if defined(SOMBRERO_HAVE_CUDA)
  // Copies still in flight read host memory and write buffers about to be freed: wait for
  // them (a destructor cannot throw; an error here has already been or will be reported).
  if (cuda_) cudaStreamSynchronize(cuda_->copies.get());
#endif
}

void DeviceInputStage::stage(const datasets::Batch& batch) {
  SOMBRERO_CHECK(pending() < kSlots, "DeviceInputStage::stage: ", kSlots,
                 " batches are already staged; take() one first");
  SOMBRERO_CHECK(batch.size > 0 && batch.images != nullptr && batch.labels != nullptr,
                 "DeviceInputStage::stage: batch ", batch.index, " is empty");
  const int number = next_slot_;
  Slot& slot = slots_[static_cast<std::size_t>(number)];
  const std::size_t bytes = static_cast<std::size_t>(batch.size) * batch.shape.pixels();

  if (!slot.bytes || slot.bytes->bytes() < bytes) {
    // The old buffer's last users are ordered before its free on the compute stream: its
    // copy (the compute stream waited on it in take()) and its normalize kernel.
    slot.bytes.reset();
    slot.bytes = runtime::Storage::allocate(bytes, device_);
#if defined(SOMBRERO_HAVE_CUDA)
    // The allocation is ordered on the compute stream; the copy stream waits for it below,
    // so a copy into a new or grown buffer (each slot's first batch, or a bigger batch)
    // starts only after the compute work queued so far: those steps do not overlap.
    if (cuda_) cuda_->released[number]->record(slot.bytes->stream());
#endif
  }

#if defined(SOMBRERO_HAVE_CUDA)
  if (cuda_) {
    runtime::DeviceGuard guard(device_.index);
    const cudaStream_t copies = cuda_->copies.get();
    SOMBRERO_CHECK_CUDA(cudaStreamWaitEvent(copies, cuda_->released[number]->get(), 0));
    SOMBRERO_CHECK_CUDA(
        cudaMemcpyAsync(slot.bytes->data(), batch.images, bytes, cudaMemcpyHostToDevice, copies));
    cuda_->copied[number]->record(copies);
    cuda_->reading_host[number] = true;
  } else {
    runtime::copy_bytes(slot.bytes->data(), device_, batch.images, runtime::Device::cpu(), bytes);
  }
#else
  runtime::copy_bytes(slot.bytes->data(), device_, batch.images, runtime::Device::cpu(), bytes);
#endif

  slot.labels.assign(batch.labels, batch.labels + batch.size);
  slot.shape = batch.shape;
  slot.size = batch.size;
  slot.epoch = batch.epoch;
  slot.index = batch.index;
  pending_.push_back(number);
  next_slot_ = (next_slot_ + 1) % kSlots;
}

void DeviceInputStage::wait_host_copies() {
#if defined(SOMBRERO_HAVE_CUDA)
  // Taken batches count too: take() orders the device after the copy, not the host.
  if (cuda_)
    for (int i = 0; i < kSlots; ++i)
      if (cuda_->reading_host[i]) {
        cuda_->copied[i]->synchronize();
        cuda_->reading_host[i] = false;
      }
#endif
}

ModelInput DeviceInputStage::take() {
  SOMBRERO_CHECK(!pending_.empty(), "DeviceInputStage::take: no batch is staged");
  const int number = pending_.front();
  Slot& slot = slots_[static_cast<std::size_t>(number)];
  const auto& s = slot.shape;
  const runtime::Shape shape{slot.size, s.height, s.width, s.channels};
  const auto elements = static_cast<std::size_t>(shape.numel());
  const auto* bytes = static_cast<const std::uint8_t*>(slot.bytes->data());

  ModelInput input;
  if (device_.is_cpu()) {
    input.images = runtime::Tensor::empty(shape);
    datasets::normalize_to_f32(bytes, elements, s.channels, norm_.mean, norm_.std,
                               input.images.data<float>());
  } else {
    const kernels::NormalizeParams params =
        kernels::make_normalize_params(s.channels, norm_.mean, norm_.std);
    input.images = runtime::Tensor::empty(shape, dtype_, device_);
#if defined(SOMBRERO_HAVE_CUDA)
    if (cuda_) {
      runtime::DeviceGuard guard(device_.index);
      SOMBRERO_CHECK_CUDA(
          cudaStreamWaitEvent(input.images.stream(), cuda_->copied[number]->get(), 0));
    }
#endif
    layers::ops::with_element_type(dtype_, [&](auto zero) {
      using T = decltype(zero);
      SOMBRERO_DEVICE_KERNEL(device_, normalize_u8, static_cast<std::int64_t>(elements), params,
                             bytes, input.images.data<T>(), input.images.stream());
    });
#if defined(SOMBRERO_HAVE_CUDA)
    if (cuda_) cuda_->released[number]->record(input.images.stream());
#endif
  }
  input.labels = std::move(slot.labels);
  slot.labels.clear();
  input.size = slot.size;
  input.epoch = slot.epoch;
  input.index = slot.index;
  pending_.pop_front();
  return input;
}

const DeviceInputStage::Slot& DeviceInputStage::oldest() const {
  SOMBRERO_CHECK(!pending_.empty(), "DeviceInputStage: no batch is staged");
  return slots_[static_cast<std::size_t>(pending_.front())];
}

const std::vector<std::int32_t>& DeviceInputStage::labels() const {
  return oldest().labels;
}
int DeviceInputStage::size() const {
  return oldest().size;
}
std::int64_t DeviceInputStage::epoch() const {
  return oldest().epoch;
}
std::int64_t DeviceInputStage::index() const {
  return oldest().index;
}

}  // namespace sombrero::trainer
