// Links every Conv2d that a BatchNorm2d directly follows inside a container (a Sequential's
// children, a residual block's branch) so that, in training on a device, the convolution's
// epilogue computes the BatchNorm's batch statistics (Conv2d::feed_statistics_to). Safe on
// any layer tree: a BatchNorm uses offered statistics only when its input is the very tensor
// they describe, so a pair that is adjacent without feeding each other costs a few wasted
// sums, never a wrong result.
#pragma once

#include "layers/layer.h"

namespace sombrero::layers {

// Returns the number of (Conv2d, BatchNorm2d) pairs linked under `root`.
int link_conv_batch_norm_pairs(Layer& root);

}  // namespace sombrero::layers
