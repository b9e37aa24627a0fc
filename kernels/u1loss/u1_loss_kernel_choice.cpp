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
  }
  return "?";
}

std::size_t u1_loss_resident_shared_bytes(const U1LossShape& shape, std::size_t element_bytes) {
  return u1_layout::resident_shared_bytes(shape.height, shape.width, shape.channels, element_bytes);
}

U1LossKernel resolve_u1_loss_kernel(U1LossKernel requested, const U1LossShape& shape,
                                    std::size_t element_bytes, std::size_t max_shared_bytes) {
  if (requested == U1LossKernel::streaming) return requested;
  const std::size_t needed = u1_loss_resident_shared_bytes(shape, element_bytes);
  const bool fits = needed <= max_shared_bytes;
  if (requested == U1LossKernel::automatic)
    return fits ? U1LossKernel::resident : U1LossKernel::streaming;
  SOMBRERO_CHECK(fits, "u1 loss: the resident kernel needs ", needed,
                 " bytes of shared memory per block for a ", shape.height, "x", shape.width, "x",
                 shape.channels, " activation of ", element_bytes,
                 "-byte elements; this device allows ", max_shared_bytes,
                 " (use the streaming kernel)");
  return requested;
}

}  // namespace sombrero::kernels
