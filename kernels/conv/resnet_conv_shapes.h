// The unique convolution shapes of torchvision's ResNet-18 and ResNet-50 at 224x224 input,
// for tests and `sombrero bench conv`. Each entry names its first use in the network.
#pragma once

#include <string>
#include <vector>

#include "kernels/conv/conv2d_shape.h"

namespace sombrero::kernels {

struct NamedConvShape {
  std::string name;  // "layer2.0.conv2", ...
  Conv2dShape shape;
};

std::vector<NamedConvShape> resnet50_conv_shapes(int batch);
std::vector<NamedConvShape> resnet18_conv_shapes(int batch);

}  // namespace sombrero::kernels
