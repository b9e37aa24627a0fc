// One flat f32 buffer behind a group of parameters' gradients.
//
// bind_flat_gradients(group) allocates a buffer of the group's total gradient size on the
// gradients' device, copies each gradient into its slice (parameters in the given order,
// back to back) and re-binds Parameter::grad to a view of that slice, so backward
// accumulates straight into the buffer. Zeroing, all-reducing or scaling the group is then
// one operation on the returned tensor instead of one per parameter (ResNet-50: 161 fills
// of a few microseconds each become one). The gradients must be f32 and on one device.
#pragma once

#include <vector>

#include "layers/parameter.h"

namespace sombrero::layers {

Tensor bind_flat_gradients(const std::vector<Parameter*>& group);

}  // namespace sombrero::layers
