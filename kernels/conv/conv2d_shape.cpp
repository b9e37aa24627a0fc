#include "kernels/conv/conv2d_shape.h"

#include "runtime/error.h"

namespace sombrero::kernels {

std::string Conv2dShape::to_string() const {
  return str("N=", batch, " H=", in_height, " W=", in_width, " C=", in_channels,
             " -> K=", out_channels, " R=", kernel_h, " S=", kernel_w, " stride ", stride_h, ",",
             stride_w, " pad ", pad_top, ",", pad_bottom, ",", pad_left, ",", pad_right,
             (dilation_h != 1 || dilation_w != 1) ? str(" dilation ", dilation_h, ",", dilation_w)
                                                  : std::string());
}

void check_conv2d_shape(const Conv2dShape& s) {
  SOMBRERO_CHECK(
      s.batch > 0 && s.in_height > 0 && s.in_width > 0 && s.in_channels > 0 && s.out_channels > 0,
      "conv2d: sizes must be positive: ", s.to_string());
  SOMBRERO_CHECK(s.kernel_h > 0 && s.kernel_w > 0,
                 "conv2d: kernel size must be positive: ", s.to_string());
  SOMBRERO_CHECK(s.stride_h > 0 && s.stride_w > 0,
                 "conv2d: stride must be positive: ", s.to_string());
  SOMBRERO_CHECK(s.dilation_h > 0 && s.dilation_w > 0,
                 "conv2d: dilation must be positive: ", s.to_string());
  SOMBRERO_CHECK(s.pad_top >= 0 && s.pad_bottom >= 0 && s.pad_left >= 0 && s.pad_right >= 0,
                 "conv2d: padding must be non-negative: ", s.to_string());
  const int padded_h = s.in_height + s.pad_top + s.pad_bottom;
  const int padded_w = s.in_width + s.pad_left + s.pad_right;
  const int dilated_h = s.dilation_h * (s.kernel_h - 1) + 1;
  const int dilated_w = s.dilation_w * (s.kernel_w - 1) + 1;
  SOMBRERO_CHECK(dilated_h <= padded_h && dilated_w <= padded_w, "conv2d: calculated output size (",
                 s.out_height(), "x", s.out_width(), ") is too small: padded input ", padded_h, "x",
                 padded_w, " is smaller than the (dilated) kernel ", dilated_h, "x", dilated_w,
                 ": ", s.to_string());
}

}  // namespace sombrero::kernels
