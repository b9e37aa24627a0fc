// DeviceInputStage: the loader's batches uploaded to the model's device ahead of their step,
// so that on a GPU the copy of batch k+1 overlaps the compute of batch k.
//
//   DeviceInputStage input(ctx, norm);
//   input.stage(*loader.next());           // starts the upload of batch 0
//   while (input.pending() > 0) {
//     const ModelInput in = input.take();  // batch k: normalised on the compute stream
//     ... forward and backward on in.images, in.labels ...
//     input.wait_host_copies();            // before next(): the loader reuses the buffer
//     if (const Batch* b = loader.next()) input.stage(*b);  // batch k+1's upload starts
//     ... optimizer step ...
//   }
//
// stage() keeps the labels, size, epoch and index on the host and copies the uint8 NHWC
// image bytes into one of two device buffers (reused across steps, grown when a batch is
// bigger). take() returns the oldest staged batch with its images normalised on the model's
// device in its precision, computed exactly as trainer::batch_images (bitwise equal).
//
//   cuda: the copy is a cudaMemcpyAsync on the stage's own copy stream (asynchronous when the
//         host bytes are pinned, as the loader's are; pageable memory works too, the call then
//         returns once the bytes were read), followed by an event. take() makes the compute
//         stream (CudaContext::stream(), the tensors' stream) wait on that event, runs the
//         normalize kernel there and records a second event after it; the next copy into the
//         same buffer waits on that one, so a buffer is never overwritten while a kernel may
//         still read it.
//   cpu, simt: the same steps, synchronous, in host memory (no streams).
//
// Host bytes: a copy reads the batch's host memory until it completes, and the loader reuses
// that memory at its next next() or start(). The caller must call wait_host_copies() before
// either (stage() does not wait: it is called after next(), too late to protect anything).
// At most two batches are staged and not yet taken; staging a third is an Error.
// The destructor waits for the copies in flight.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "datasets/loader.h"
#include "datasets/make_dataset.h"
#include "layers/context.h"
#include "runtime/storage.h"
#include "runtime/tensor.h"

namespace sombrero::trainer {

// A batch as the model consumes it.
struct ModelInput {
  runtime::Tensor images;  // size x height x width x channels on the device, f32 or bf16
  std::vector<std::int32_t> labels;
  int size = 0;
  std::int64_t epoch = 0;
  std::int64_t index = 0;  // within the epoch
};

class DeviceInputStage {
 public:
  static constexpr int kSlots = 2;

  // Batches for ctx.device in ctx.precision (f32 on the cpu), normalised with `norm`.
  DeviceInputStage(const layers::Context& ctx, const datasets::Normalization& norm);
  ~DeviceInputStage();
  DeviceInputStage(const DeviceInputStage&) = delete;
  DeviceInputStage& operator=(const DeviceInputStage&) = delete;

  // Starts the upload of `batch` (see above: its host bytes must stay valid until
  // wait_host_copies() returns). Throws when kSlots batches are already staged.
  void stage(const datasets::Batch& batch);
  // Returns once every copy stage() started, taken or not, has finished reading host memory
  // (immediately on cpu and simt, where stage() copies synchronously).
  void wait_host_copies();
  // The oldest staged batch, its images normalised on the device (ordered after its copy).
  // Throws when nothing is staged.
  ModelInput take();

  // Batches staged and not yet taken (0, 1 or 2), and the oldest one's description.
  int pending() const { return static_cast<int>(pending_.size()); }
  const std::vector<std::int32_t>& labels() const;
  int size() const;
  std::int64_t epoch() const;
  std::int64_t index() const;

 private:
  struct Slot {
    std::shared_ptr<runtime::Storage> bytes;  // uint8 NHWC on ctx_.device, reused
    std::vector<std::int32_t> labels;
    datasets::ImageShape shape;
    int size = 0;
    std::int64_t epoch = 0;
    std::int64_t index = 0;
  };
  struct CudaState;  // copy stream and events (CUDA builds only)

  const Slot& oldest() const;

  layers::Context ctx_;  // the device and precision of the model's input
  datasets::Normalization norm_;
  std::array<Slot, kSlots> slots_;
  std::deque<int> pending_;  // slot numbers, oldest first
  int next_slot_ = 0;
  std::unique_ptr<CudaState> cuda_;
};

}  // namespace sombrero::trainer
