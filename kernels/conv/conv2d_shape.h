// The geometry of a 2-D convolution in sombrero's layouts: activations NHWC
// [batch, height, width, channels], weights KRSC [out_channels, kernel_h, kernel_w,
// in_channels]. Zero padding may differ per side; groups = 1.
#pragma once

#include <cstddef>
#include <string>

namespace sombrero::kernels {

struct Conv2dShape {
  int batch = 1;
  int in_height = 1, in_width = 1, in_channels = 1;
  int out_channels = 1;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1;

  // As PyTorch: floor((in + pads - dilation (kernel - 1) - 1) / stride) + 1.
  int out_height() const {
    return (in_height + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
  }
  int out_width() const {
    return (in_width + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
  }
  std::size_t input_elements() const {
    return std::size_t(batch) * in_height * in_width * in_channels;
  }
  std::size_t output_elements() const {
    return std::size_t(batch) * out_height() * out_width() * out_channels;
  }
  std::size_t weight_elements() const {
    return std::size_t(out_channels) * kernel_h * kernel_w * in_channels;
  }
  // Multiply-adds of one pass (forward, backward-data and backward-filter are equal): x2 = flops.
  double macs() const {
    return double(batch) * out_height() * out_width() * out_channels * kernel_h * kernel_w *
           in_channels;
  }
  std::string to_string() const;  // "N=8 H=56 W=56 C=64 -> K=64 R=3 S=3 stride 1 pad 1,1,1,1"
};

// Throws sombrero::Error when the shape is invalid, as PyTorch would refuse it: non-positive
// sizes or strides or dilations, negative padding, or an empty output (the message gives the
// computed output size and the padded input and dilated kernel sizes).
void check_conv2d_shape(const Conv2dShape& shape);

}  // namespace sombrero::kernels
