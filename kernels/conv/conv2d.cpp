// The Conv2d op: checks, then dispatch to the CPU backend, the hand-written CUDA kernels or
// cuDNN (see conv2d.h).
#include "kernels/conv/conv2d.h"

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kernels/conv/conv2d_cpu.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "runtime/text.h"

#if defined(SOMBRERO_HAVE_CUDNN)
#include "kernels/conv/conv2d_cudnn.h"
#endif
#if defined(SOMBRERO_HAVE_HAND_CONV2D)
#include "kernels/conv/conv2d_kernels.h"
#include "runtime/cuda_context.h"
#endif

namespace sombrero::kernels {

using runtime::DType;
using runtime::Shape;

ConvAlgo parse_conv_algo(const std::string& name) {
  if (name == "hand") return ConvAlgo::hand;
  if (name == "wgmma") return ConvAlgo::wgmma;
  if (name == "cudnn") return ConvAlgo::cudnn;
  throw Error(str("unknown convolution algorithm '", name, "'",
                  did_you_mean(name, {"hand", "wgmma", "cudnn"}),
                  " (choose hand, wgmma or cudnn)"));
}

ConvAlgo choose_conv_algo(const std::string& name, const runtime::Device& device, bool bf16) {
  if (name != "auto") {
    try {
      return parse_conv_algo(name);
    } catch (const Error&) {
      throw Error(str("unknown convolution algorithm '", name, "'",
                      did_you_mean(name, {"auto", "hand", "wgmma", "cudnn"}),
                      " (choose auto, hand, wgmma or cudnn)"));
    }
  }
  if (!device.is_cuda() || !bf16) return ConvAlgo::hand;
#if defined(SOMBRERO_HAVE_HAND_CONV2D)
  const runtime::DeviceGuard guard(device.index);  // the reason is the current device's
  if (runtime::wgmma_unavailable_reason().empty()) return ConvAlgo::wgmma;
#endif
  return ConvAlgo::hand;
}

const char* to_string(ConvAlgo algo) {
  switch (algo) {
    case ConvAlgo::hand:
      return "hand";
    case ConvAlgo::wgmma:
      return "wgmma";
    case ConvAlgo::cudnn:
      return "cudnn";
  }
  return "?";
}

Conv2dWgmmaTile parse_wgmma_tile(const std::string& name) {
  if (name.empty() || name == "auto") return Conv2dWgmmaTile::automatic;
  if (name == "m128_sync") return Conv2dWgmmaTile::m128_sync;
  if (name == "m128_async") return Conv2dWgmmaTile::m128_async;
  if (name == "m256_async") return Conv2dWgmmaTile::m256_async;
  if (name == "n64_sync") return Conv2dWgmmaTile::n64_sync;
  if (name == "m64_sync") return Conv2dWgmmaTile::m64_sync;
  throw Error(str(
      "SOMBRERO_WGMMA_TILE: unknown wgmma tile '", name, "'",
      did_you_mean(name, {"auto", "m128_sync", "m128_async", "m256_async", "n64_sync", "m64_sync"}),
      " (choose auto, m128_sync, m128_async, m256_async, n64_sync or m64_sync)"));
}

Conv2dKernelOptions kernel_options(ConvAlgo algo) {
  Conv2dKernelOptions options;
  if (algo == ConvAlgo::wgmma) {
    options.tile = Conv2dTile::warpgroup;
    static const Conv2dWgmmaTile from_environment = [] {
      const char* value = std::getenv("SOMBRERO_WGMMA_TILE");
      return parse_wgmma_tile(value != nullptr ? value : "");
    }();
    options.wgmma = from_environment;
  }
  return options;
}

Conv2dParams Conv2dParams::symmetric(int stride, int pad, ConvAlgo algo) {
  Conv2dParams p;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = pad;
  p.algo = algo;
  return p;
}

Conv2dParams Conv2dParams::of(const Conv2dShape& s, ConvAlgo algo) {
  Conv2dParams p;
  p.stride_h = s.stride_h;
  p.stride_w = s.stride_w;
  p.pad_top = s.pad_top;
  p.pad_bottom = s.pad_bottom;
  p.pad_left = s.pad_left;
  p.pad_right = s.pad_right;
  p.dilation_h = s.dilation_h;
  p.dilation_w = s.dilation_w;
  p.algo = algo;
  return p;
}

Conv2dParams Conv2dParams::same(int kernel, int stride, ConvAlgo algo) {
  return symmetric(stride, kernel / 2, algo);
}

// kernels/CMakeLists.txt defines SOMBRERO_HAVE_HAND_CONV2D once the hand-written kernels of
// all three passes are built into the CUDA library.
bool hand_conv2d_available() {
#if defined(SOMBRERO_HAVE_HAND_CONV2D)
  return true;
#else
  return false;
#endif
}

namespace {

int to_int(std::int64_t extent, const char* op, const char* what, const Shape& shape) {
  SOMBRERO_CHECK(extent <= INT_MAX, op, ": ", what, " ", to_string(shape),
                 " has an extent too large for the convolution kernels (over 2^31 - 1)");
  return static_cast<int>(extent);
}

// The geometry from an input-like shape [N,H,W,C] and a weight-like shape [K,R,S,C].
Conv2dShape shape_from(const char* op, const char* x_name, const Shape& x, const char* w_name,
                       const Shape& w, const Conv2dParams& p) {
  SOMBRERO_CHECK(x.rank() == 4, op, ": ", x_name, " must be NHWC [N, H, W, C], got ", to_string(x));
  SOMBRERO_CHECK(w.rank() == 4, op, ": ", w_name,
                 " must be KRSC [out_channels, kernel_h, kernel_w, in_channels], got ",
                 to_string(w));
  SOMBRERO_CHECK(x[3] == w[3], op, ": ", x_name, " ", to_string(x), " has ", x[3], " channels but ",
                 w_name, " ", to_string(w), " expects ", w[3], " (", w_name,
                 " is KRSC: [out_channels, kernel_h, kernel_w, in_channels])");
  Conv2dShape s;
  s.batch = to_int(x[0], op, x_name, x);
  s.in_height = to_int(x[1], op, x_name, x);
  s.in_width = to_int(x[2], op, x_name, x);
  s.in_channels = to_int(x[3], op, x_name, x);
  s.out_channels = to_int(w[0], op, w_name, w);
  s.kernel_h = to_int(w[1], op, w_name, w);
  s.kernel_w = to_int(w[2], op, w_name, w);
  s.stride_h = p.stride_h;
  s.stride_w = p.stride_w;
  s.pad_top = p.pad_top;
  s.pad_bottom = p.pad_bottom;
  s.pad_left = p.pad_left;
  s.pad_right = p.pad_right;
  s.dilation_h = p.dilation_h;
  s.dilation_w = p.dilation_w;
  try {
    check_conv2d_shape(s);
  } catch (const Error& e) {
    throw Error(str(op, ": ", x_name, " ", to_string(x), " and ", w_name, " ", to_string(w), ": ",
                    e.what()));
  }
  return s;
}

Shape output_shape_of(const Conv2dShape& s) {
  return Shape{s.batch, s.out_height(), s.out_width(), s.out_channels};
}

std::string params_text(const Conv2dParams& p) {
  return str("stride ", p.stride_h, ",", p.stride_w, " pad ", p.pad_top, ",", p.pad_bottom, ",",
             p.pad_left, ",", p.pad_right, " dilation ", p.dilation_h, ",", p.dilation_w);
}

struct Operand {
  const char* name;
  const Tensor* tensor;
};

// All defined, one dtype, one device; bf16 not on the CPU.
void check_operands(const char* op, const std::vector<Operand>& operands) {
  for (const Operand& o : operands)
    SOMBRERO_CHECK(o.tensor->defined(), op, ": ", o.name, " is an undefined tensor");
  const Tensor& first = *operands.front().tensor;
  for (const Operand& o : operands) {
    SOMBRERO_CHECK(o.tensor->dtype() == first.dtype(), op, ": ", operands.front().name, " is ",
                   runtime::dtype_name(first.dtype()), " but ", o.name, " is ",
                   runtime::dtype_name(o.tensor->dtype()),
                   "; all tensors of a convolution share one dtype");
    SOMBRERO_CHECK(o.tensor->device() == first.device(), op, ": ", operands.front().name, " is on ",
                   to_string(first.device()), " but ", o.name, " is on ",
                   to_string(o.tensor->device()),
                   "; all tensors of a convolution must be on one device");
  }
  SOMBRERO_CHECK(!(first.is_cpu() && first.dtype() == DType::bf16), op,
                 ": the CPU backend computes in f32 only, and these tensors are bf16; convert "
                 "them with to_dtype(f32) or run on a CUDA device");
}

void check_result_shape(const char* op, const char* name, const Tensor& t, const Shape& want,
                        const std::string& from) {
  SOMBRERO_CHECK(t.shape() == want, op, ": ", name, " is ", to_string(t.shape()), " but ", from,
                 " give ", to_string(want));
}

void check_hand_built(const char* op) {
  SOMBRERO_CHECK(hand_conv2d_available(), op,
                 ": the hand-written CUDA convolution kernels are not available in this build "
                 "yet; use algo cudnn (conv.algo: cudnn) for now");
}

#if defined(SOMBRERO_HAVE_CUDNN)
constexpr bool kHaveCudnn = true;
#else
constexpr bool kHaveCudnn = false;
#endif

void check_cudnn_built(const char* op) {
  SOMBRERO_CHECK(kHaveCudnn, op,
                 ": algo cudnn needs cuDNN, which was not found when sombrero was built "
                 "(reconfigure with -DCUDNN_ROOT=<dir>), or use algo hand");
}

}  // namespace

Conv2dShape conv2d_shape(const Shape& x, const Shape& w, const Conv2dParams& params) {
  return shape_from("conv2d", "x", x, "w", w, params);
}

Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& params) {
  return output_shape_of(conv2d_shape(x, w, params));
}

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const Conv2dParams& params) {
  constexpr const char* op = "conv2d_forward";
  check_operands(op, {{"x", &x}, {"w", &w}, {"y", &y}});
  const Conv2dShape s = shape_from(op, "x", x.shape(), "w", w.shape(), params);
  check_result_shape(op, "y", y, output_shape_of(s),
                     str("x ", to_string(x.shape()), " and w ", to_string(w.shape()), " with ",
                         params_text(params)));
  if (x.is_cpu()) {
    cpu::conv2d_forward(s, x.data<float>(), w.data<float>(), y.data<float>());
    return;
  }
  if (is_hand_written(params.algo)) {
    check_hand_built(op);
#if defined(SOMBRERO_HAVE_HAND_CONV2D)
    runtime::DeviceGuard guard(x.device().index);
    const Conv2dKernelOptions options = kernel_options(params.algo);
    if (x.dtype() == DType::f32)
      cuda::conv2d_forward(s, x.data<float>(), w.data<float>(), y.data<float>(), x.stream(),
                           options);
    else
      cuda::conv2d_forward(s, x.data<bf16>(), w.data<bf16>(), y.data<bf16>(), x.stream(), options);
#endif
    return;
  }
  check_cudnn_built(op);
#if defined(SOMBRERO_HAVE_CUDNN)
  if (x.dtype() == DType::f32)
    cudnn::conv2d_forward(s, x.data<float>(), w.data<float>(), y.data<float>(), x.device().index,
                          x.stream());
  else
    cudnn::conv2d_forward(s, x.data<bf16>(), w.data<bf16>(), y.data<bf16>(), x.device().index,
                          x.stream());
#endif
}

void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx,
                          const Conv2dParams& params) {
  constexpr const char* op = "conv2d_backward_data";
  check_operands(op, {{"dy", &dy}, {"w", &w}, {"dx", &dx}});
  const Conv2dShape s = shape_from(op, "dx", dx.shape(), "w", w.shape(), params);
  check_result_shape(op, "dy", dy, output_shape_of(s),
                     str("dx ", to_string(dx.shape()), " and w ", to_string(w.shape()), " with ",
                         params_text(params)));
  if (dy.is_cpu()) {
    cpu::conv2d_backward_data(s, dy.data<float>(), w.data<float>(), dx.data<float>());
    return;
  }
  if (is_hand_written(params.algo)) {
    check_hand_built(op);
#if defined(SOMBRERO_HAVE_HAND_CONV2D)
    runtime::DeviceGuard guard(dy.device().index);
    const Conv2dKernelOptions options = kernel_options(params.algo);
    if (dy.dtype() == DType::f32)
      cuda::conv2d_backward_data(s, dy.data<float>(), w.data<float>(), dx.data<float>(),
                                 dy.stream(), options);
    else
      cuda::conv2d_backward_data(s, dy.data<bf16>(), w.data<bf16>(), dx.data<bf16>(), dy.stream(),
                                 options);
#endif
    return;
  }
  check_cudnn_built(op);
#if defined(SOMBRERO_HAVE_CUDNN)
  if (dy.dtype() == DType::f32)
    cudnn::conv2d_backward_data(s, dy.data<float>(), w.data<float>(), dx.data<float>(),
                                dy.device().index, dy.stream());
  else
    cudnn::conv2d_backward_data(s, dy.data<bf16>(), w.data<bf16>(), dx.data<bf16>(),
                                dy.device().index, dy.stream());
#endif
}

void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw,
                            const Conv2dParams& params, bool accumulate) {
  constexpr const char* op = "conv2d_backward_filter";
  check_operands(op, {{"x", &x}, {"dy", &dy}});
  SOMBRERO_CHECK(dw.defined(), op, ": dw is an undefined tensor");
  SOMBRERO_CHECK(dw.device() == x.device(), op, ": x is on ", to_string(x.device()),
                 " but dw is on ", to_string(dw.device()),
                 "; all tensors of a convolution must be on one device");
  SOMBRERO_CHECK(dw.dtype() == DType::f32, op, ": dw must be f32 (the gradient of f32 master ",
                 "weights, also for ", runtime::dtype_name(x.dtype()), " x and dy), got ",
                 runtime::dtype_name(dw.dtype()));
  const Conv2dShape s = shape_from(op, "x", x.shape(), "dw", dw.shape(), params);
  check_result_shape(op, "dy", dy, output_shape_of(s),
                     str("x ", to_string(x.shape()), " and dw ", to_string(dw.shape()), " with ",
                         params_text(params)));
  if (x.is_cpu()) {
    cpu::conv2d_backward_filter(s, x.data<float>(), dy.data<float>(), dw.data<float>(), accumulate);
    return;
  }
  if (is_hand_written(params.algo)) {
    check_hand_built(op);
#if defined(SOMBRERO_HAVE_HAND_CONV2D)
    runtime::DeviceGuard guard(x.device().index);
    // Split-K workspace as stream-ordered memory on the tensors' stream.
    const Conv2dKernelOptions options = kernel_options(params.algo);
    const std::size_t bytes = conv2d_backward_filter_workspace_bytes(s, options);
    Tensor workspace;
    if (bytes > 0)
      workspace = Tensor::empty({std::int64_t((bytes + 3) / 4)}, DType::f32, x.device());
    void* scratch = bytes > 0 ? workspace.raw_data() : nullptr;
    if (x.dtype() == DType::f32)
      cuda::conv2d_backward_filter(s, x.data<float>(), dy.data<float>(), dw.data<float>(),
                                   accumulate, scratch, x.stream(), options);
    else
      cuda::conv2d_backward_filter(s, x.data<bf16>(), dy.data<bf16>(), dw.data<float>(), accumulate,
                                   scratch, x.stream(), options);
#endif
    return;
  }
  check_cudnn_built(op);
#if defined(SOMBRERO_HAVE_CUDNN)
  if (x.dtype() == DType::f32)
    cudnn::conv2d_backward_filter(s, x.data<float>(), dy.data<float>(), dw.data<float>(),
                                  accumulate, x.device().index, x.stream());
  else
    cudnn::conv2d_backward_filter(s, x.data<bf16>(), dy.data<bf16>(), dw.data<float>(), accumulate,
                                  x.device().index, x.stream());
#endif
}

}  // namespace sombrero::kernels
