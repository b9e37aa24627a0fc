#include "kernels/conv/resnet_conv_shapes.h"

namespace sombrero::kernels {

namespace {

// A square convolution: input size, channels in and out, kernel, stride; padding kernel/2.
NamedConvShape conv(const char* name, int batch, int size, int in_channels, int out_channels,
                    int kernel, int stride) {
  Conv2dShape s;
  s.batch = batch;
  s.in_height = s.in_width = size;
  s.in_channels = in_channels;
  s.out_channels = out_channels;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = kernel / 2;
  return {name, s};
}

}  // namespace

std::vector<NamedConvShape> resnet50_conv_shapes(int batch) {
  return {
      conv("conv1", batch, 224, 3, 64, 7, 2),
      conv("layer1.0.conv1", batch, 56, 64, 64, 1, 1),
      conv("layer1.0.conv2", batch, 56, 64, 64, 3, 1),
      conv("layer1.0.conv3", batch, 56, 64, 256, 1, 1),  // also layer1.0.downsample
      conv("layer1.1.conv1", batch, 56, 256, 64, 1, 1),
      conv("layer2.0.conv1", batch, 56, 256, 128, 1, 1),
      conv("layer2.0.conv2", batch, 56, 128, 128, 3, 2),
      conv("layer2.0.conv3", batch, 28, 128, 512, 1, 1),
      conv("layer2.0.downsample", batch, 56, 256, 512, 1, 2),
      conv("layer2.1.conv1", batch, 28, 512, 128, 1, 1),
      conv("layer2.1.conv2", batch, 28, 128, 128, 3, 1),
      conv("layer3.0.conv1", batch, 28, 512, 256, 1, 1),
      conv("layer3.0.conv2", batch, 28, 256, 256, 3, 2),
      conv("layer3.0.conv3", batch, 14, 256, 1024, 1, 1),
      conv("layer3.0.downsample", batch, 28, 512, 1024, 1, 2),
      conv("layer3.1.conv1", batch, 14, 1024, 256, 1, 1),
      conv("layer3.1.conv2", batch, 14, 256, 256, 3, 1),
      conv("layer4.0.conv1", batch, 14, 1024, 512, 1, 1),
      conv("layer4.0.conv2", batch, 14, 512, 512, 3, 2),
      conv("layer4.0.conv3", batch, 7, 512, 2048, 1, 1),
      conv("layer4.0.downsample", batch, 14, 1024, 2048, 1, 2),
      conv("layer4.1.conv1", batch, 7, 2048, 512, 1, 1),
      conv("layer4.1.conv2", batch, 7, 512, 512, 3, 1),
  };
}

std::vector<NamedConvShape> resnet18_conv_shapes(int batch) {
  return {
      conv("conv1", batch, 224, 3, 64, 7, 2),
      conv("layer1.0.conv1", batch, 56, 64, 64, 3, 1),
      conv("layer2.0.conv1", batch, 56, 64, 128, 3, 2),
      conv("layer2.0.conv2", batch, 28, 128, 128, 3, 1),
      conv("layer2.0.downsample", batch, 56, 64, 128, 1, 2),
      conv("layer3.0.conv1", batch, 28, 128, 256, 3, 2),
      conv("layer3.0.conv2", batch, 14, 256, 256, 3, 1),
      conv("layer3.0.downsample", batch, 28, 128, 256, 1, 2),
      conv("layer4.0.conv1", batch, 14, 256, 512, 3, 2),
      conv("layer4.0.conv2", batch, 7, 512, 512, 3, 1),
      conv("layer4.0.downsample", batch, 14, 256, 512, 1, 2),
  };
}

}  // namespace sombrero::kernels
