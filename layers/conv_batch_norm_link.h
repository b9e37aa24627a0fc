// Links every Conv2d that a BatchNorm2d directly follows inside a container (a Sequential's
// children, a residual block's branch) so that, in training on a device, the convolution's
// epilogue computes the BatchNorm's batch statistics (Conv2d::feed_statistics_to); and every
// BatchNorm2d (+ ReLU) that a Conv2d directly follows, so that the convolution's
// backward-data epilogue computes the BatchNorm's backward sums (Conv2d::take_gradient_sums_for).
// Safe on any layer tree: a BatchNorm uses offered statistics only when its input is the very
// tensor they describe, and offered backward sums only when its output is the very tensor the
// convolution took as input and its gradient the very tensor the convolution wrote, so a pair
// that is adjacent without feeding each other costs a few wasted sums, never a wrong result.
// (A container that added another gradient into the convolution's input gradient in place,
// before the BatchNorm's backward, would break that; a Sequential and a residual branch hand
// each child's input gradient to the child before it unchanged.)
#pragma once

#include "layers/layer.h"

namespace sombrero::layers {

// Returns the number of pairs linked under `root`, of both kinds.
int link_conv_batch_norm_pairs(Layer& root);

}  // namespace sombrero::layers
