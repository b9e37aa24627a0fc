#include "layers/flat_gradients.h"

#include <cstdint>

#include "runtime/error.h"

namespace sombrero::layers {

Tensor bind_flat_gradients(const std::vector<Parameter*>& group) {
  SOMBRERO_CHECK(!group.empty(), "bind_flat_gradients: no parameters");
  const runtime::Device device = group.front()->grad.device();
  std::int64_t total = 0;
  for (const Parameter* p : group) {
    SOMBRERO_CHECK(p->grad.dtype() == runtime::DType::f32 && p->grad.device() == device,
                   "bind_flat_gradients: gradients must be f32 on one device (got ",
                   runtime::dtype_name(p->grad.dtype()), " on ", to_string(p->grad.device()),
                   " beside ", to_string(device), ")");
    total += p->grad.numel();
  }
  Tensor flat = Tensor::empty({total}, runtime::DType::f32, device);
  std::int64_t offset = 0;
  for (Parameter* p : group) {
    const std::int64_t n = p->grad.numel();
    Tensor view = flat.slice(offset, offset + n).reshape(p->grad.shape());
    view.copy_from(p->grad);
    p->grad = view;
    offset += n;
  }
  return flat;
}

}  // namespace sombrero::layers
