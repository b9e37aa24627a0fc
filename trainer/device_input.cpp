#include "trainer/device_input.h"

#include <cstdint>

#include "layers/ops/dispatch.h"
#include "runtime/error.h"
#include "trainer/batch_input.h"

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
    : ctx_(ctx), norm_(norm) {
#if defined(SOMBRERO_HAVE_CUDA)
  if (ctx_.device.is_cuda()) cuda_ = std::make_unique<CudaState>(ctx_.device.index);
#else
  if (ctx_.device.is_cuda()) layers::ops::fail_cuda_not_built("DeviceInputStage");
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
    slot.bytes = runtime::Storage::allocate(bytes, ctx_.device);
#if defined(SOMBRERO_HAVE_CUDA)
    // The allocation is ordered on the compute stream; the copy stream waits for it below,
    // so a copy into a new or grown buffer (each slot's first batch, or a bigger batch)
    // starts only after the compute work queued so far: those steps do not overlap.
    if (cuda_) cuda_->released[number]->record(slot.bytes->stream());
#endif
  }

#if defined(SOMBRERO_HAVE_CUDA)
  if (cuda_) {
    runtime::DeviceGuard guard(ctx_.device.index);
    const cudaStream_t copies = cuda_->copies.get();
    SOMBRERO_CHECK_CUDA(cudaStreamWaitEvent(copies, cuda_->released[number]->get(), 0));
    SOMBRERO_CHECK_CUDA(
        cudaMemcpyAsync(slot.bytes->data(), batch.images, bytes, cudaMemcpyHostToDevice, copies));
    cuda_->copied[number]->record(copies);
    cuda_->reading_host[number] = true;
  } else {
    runtime::copy_bytes(slot.bytes->data(), ctx_.device, batch.images, runtime::Device::cpu(),
                        bytes);
  }
#else
  runtime::copy_bytes(slot.bytes->data(), ctx_.device, batch.images, runtime::Device::cpu(), bytes);
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
  const auto* bytes = static_cast<const std::uint8_t*>(slot.bytes->data());

  ModelInput input;
#if defined(SOMBRERO_HAVE_CUDA)
  // The normalize kernel runs on the device's context stream, after this slot's copy.
  if (cuda_) {
    runtime::DeviceGuard guard(ctx_.device.index);
    SOMBRERO_CHECK_CUDA(cudaStreamWaitEvent(runtime::CudaContext::get(ctx_.device.index).stream(),
                                            cuda_->copied[number]->get(), 0));
  }
#endif
  input.images = normalized_images(bytes, shape, norm_, ctx_);
#if defined(SOMBRERO_HAVE_CUDA)
  if (cuda_) cuda_->released[number]->record(input.images.stream());
#endif
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
