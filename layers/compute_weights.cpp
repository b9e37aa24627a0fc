#include "layers/compute_weights.h"

#include <utility>

#include "layers/layer.h"
#include "runtime/error.h"

namespace sombrero::layers {

Tensor ComputeWeightUser::compute_weight(runtime::DType dtype) {
  const Tensor& master = master_weight().value;
  if (dtype == runtime::DType::f32) return master;
  const Tensor offered = std::exchange(offered_, Tensor());
  if (offered.defined() && offered.dtype() == dtype && offered.shape() == master.shape() &&
      offered.device() == master.device())
    return offered;
  return master.to_dtype(dtype);
}

namespace {
void collect(Layer& layer, std::vector<ComputeWeightUser*>& users) {
  if (auto* user = dynamic_cast<ComputeWeightUser*>(&layer)) users.push_back(user);
  for (const auto& child : layer.children()) collect(*child.second, users);
}
}  // namespace

std::vector<ComputeWeightUser*> compute_weight_users(Layer& root) {
  std::vector<ComputeWeightUser*> users;
  collect(root, users);
  return users;
}

void offer_compute_weights(const std::vector<ComputeWeightUser*>& users, runtime::DType dtype) {
  if (dtype == runtime::DType::f32 || users.empty()) return;
  SOMBRERO_CHECK(dtype == runtime::DType::bf16, "offer_compute_weights: unsupported dtype ",
                 runtime::dtype_name(dtype));
  std::vector<Tensor> masters;
  masters.reserve(users.size());
  for (const ComputeWeightUser* user : users) masters.push_back(user->master_weight().value);
  std::vector<Tensor> copies = runtime::to_bf16_together(masters);
  for (std::size_t i = 0; i < users.size(); ++i)
    users[i]->offer_compute_weight(std::move(copies[i]));
}

}  // namespace sombrero::layers
