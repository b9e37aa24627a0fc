// Which fused-loss kernel runs (U1LossKernel in u1_loss.h): the host side of the choice.
#include "kernels/u1loss/u1_loss.h"
#include "kernels/u1loss/u1_loss_layout.h"
#include "runtime/error.h"

namespace sombrero::kernels {

const char* to_string(U1LossKernel kernel) {
  switch (kernel) {
    case U1LossKernel::automatic:
      return "automatic";
    case U1LossKernel::streaming:
      return "streaming";
    case U1LossKernel::resident:
      return "resident";
    case U1LossKernel::resident_pair:
      return "resident_pair";
  }
  return "?";
}

std::size_t u1_loss_resident_shared_bytes(const U1LossShape& shape, std::size_t element_bytes,
                                          int blocks) {
  SOMBRERO_CHECK(blocks == 1 || blocks == u1_layout::kResidentPairBlocks,
                 "u1 loss: the resident kernel runs 1 or ", u1_layout::kResidentPairBlocks,
                 " blocks per sample, not ", blocks);
  return u1_layout::resident_shared_bytes(shape.height, shape.width, shape.channels, element_bytes,
                                          blocks);
}

U1LossKernel resolve_u1_loss_kernel(U1LossKernel requested, const U1LossShape& shape,
                                    std::size_t element_bytes, std::size_t max_shared_bytes,
                                    bool clusters) {
  if (requested == U1LossKernel::streaming) return requested;
  const std::size_t single = u1_loss_resident_shared_bytes(shape, element_bytes, 1);
  const std::size_t pair =
      u1_loss_resident_shared_bytes(shape, element_bytes, u1_layout::kResidentPairBlocks);
  if (requested == U1LossKernel::automatic) {
    if (single <= max_shared_bytes) return U1LossKernel::resident;
    if (clusters && pair <= max_shared_bytes) return U1LossKernel::resident_pair;
    return U1LossKernel::streaming;
  }
  const bool is_pair = requested == U1LossKernel::resident_pair;
  SOMBRERO_CHECK(!is_pair || clusters,
                 "u1 loss: the resident_pair kernel runs each sample on a thread-block cluster, "
                 "which this device does not launch (sm_90 and later do; use resident or "
                 "streaming)");
  const std::size_t needed = is_pair ? pair : single;
  // What would run instead: the pair only where it fits and launches.
  const char* instead = !is_pair && clusters && pair <= max_shared_bytes
                            ? " (resident_pair fits: use it, or the streaming kernel)"
                            : " (use the streaming kernel)";
  SOMBRERO_CHECK(needed <= max_shared_bytes, "u1 loss: the ", to_string(requested),
                 " kernel needs ", needed, " bytes of shared memory per block for a ", shape.height,
                 "x", shape.width, "x", shape.channels, " activation of ", element_bytes,
                 "-byte elements; this device allows ", max_shared_bytes, instead);
  return requested;
}

}  // namespace sombrero::kernels
