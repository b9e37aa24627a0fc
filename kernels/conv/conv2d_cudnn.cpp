// cuDNN convolution through the legacy (v7-style) API of cuDNN 9: descriptors, cudnnFind*
// once per shape, cudnnConvolution{Forward,BackwardData,BackwardFilter}. See the header for
// layouts, math modes, the algorithm cache and the handling of asymmetric padding.
#include "kernels/conv/conv2d_cudnn.h"

#include <cuda_runtime.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "runtime/cuda_check.h"
#include "runtime/cuda_context.h"
#include "runtime/error.h"
#include "runtime/kernel_profiler.h"
#include "runtime/tensor_kernels.h"

namespace sombrero::kernels::cudnn {

namespace {

enum class Pass { forward = 0, backward_data = 1, backward_filter = 2 };

const char* pass_name(Pass pass) {
  switch (pass) {
    case Pass::forward:
      return "forward";
    case Pass::backward_data:
      return "backward_data";
    case Pass::backward_filter:
      return "backward_filter";
  }
  return "?";
}

bool symmetric_padding(const Conv2dShape& s) {
  return s.pad_top == s.pad_bottom && s.pad_left == s.pad_right;
}

// The shape cuDNN is given: the caller's, or, for asymmetric padding, the explicitly padded
// input with no padding left (same output size: out = (in + pads - ...) / stride + 1).
Conv2dShape cudnn_shape(const Conv2dShape& s) {
  if (symmetric_padding(s)) return s;
  Conv2dShape padded = s;
  padded.in_height = s.in_height + s.pad_top + s.pad_bottom;
  padded.in_width = s.in_width + s.pad_left + s.pad_right;
  padded.pad_top = padded.pad_bottom = padded.pad_left = padded.pad_right = 0;
  return padded;
}

const char* algorithm_name(Pass pass, int algo) {
  static constexpr std::array<const char*, 8> forward = {
      "IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING",
      "WINOGRAD",      "WINOGRAD_NONFUSED"};
  static constexpr std::array<const char*, 6> backward_data = {
      "ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  static constexpr std::array<const char*, 7> backward_filter = {
      "ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
  const auto pick = [algo](const auto& names) {
    return algo >= 0 && algo < int(names.size()) ? names[std::size_t(algo)] : "UNKNOWN";
  };
  switch (pass) {
    case Pass::forward:
      return pick(forward);
    case Pass::backward_data:
      return pick(backward_data);
    case Pass::backward_filter:
      return pick(backward_filter);
  }
  return "UNKNOWN";
}

// Descriptors of one convolution, owned.
struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr;  // input (or gradient of the input)
  cudnnTensorDescriptor_t y = nullptr;  // output (or gradient of the output)
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  Descriptors(const Conv2dShape& s, cudnnDataType_t data) {
    SOMBRERO_CHECK_CUDNN(cudnnCreateTensorDescriptor(&x));
    SOMBRERO_CHECK_CUDNN(cudnnCreateTensorDescriptor(&y));
    SOMBRERO_CHECK_CUDNN(cudnnCreateFilterDescriptor(&w));
    SOMBRERO_CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&conv));
    SOMBRERO_CHECK_CUDNN(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, data, s.batch,
                                                    s.in_channels, s.in_height, s.in_width));
    SOMBRERO_CHECK_CUDNN(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, data, s.batch,
                                                    s.out_channels, s.out_height(), s.out_width()));
    // KRSC is cuDNN's NHWC filter layout: [K, R, S, C].
    SOMBRERO_CHECK_CUDNN(cudnnSetFilter4dDescriptor(w, data, CUDNN_TENSOR_NHWC, s.out_channels,
                                                    s.in_channels, s.kernel_h, s.kernel_w));
    SOMBRERO_CHECK_CUDNN(cudnnSetConvolution2dDescriptor(
        conv, s.pad_top, s.pad_left, s.stride_h, s.stride_w, s.dilation_h, s.dilation_w,
        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

// Everything needed to run one pass of one shape: the descriptors and the chosen algorithm.
struct Plan {
  Plan(const Conv2dShape& s, cudnnDataType_t data) : descriptors(s, data) {}
  Descriptors descriptors;
  int algo = 0;
  std::size_t workspace_bytes = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  std::string description;
};

// Picks the fastest successful result of a cudnnFind* call. f32 keeps only FMA-math results
// (no TF32); bf16 takes tensor-op results too.
template <typename Perf>
const Perf* fastest(const Perf* results, int count, bool bf16_data) {
  for (int i = 0; i < count; ++i) {  // cudnnFind* sorts by time
    const Perf& r = results[i];
    if (r.status != CUDNN_STATUS_SUCCESS) continue;
    const bool tensor_ops =
        r.mathType == CUDNN_TENSOR_OP_MATH || r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    if (!bf16_data && tensor_ops) continue;
    return &r;
  }
  return nullptr;
}

std::unique_ptr<Plan> make_plan(Pass pass, const Conv2dShape& shape, bool bf16_data,
                                cudnnHandle_t handle) {
  const Conv2dShape s = cudnn_shape(shape);
  auto plan = std::make_unique<Plan>(s, bf16_data ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT);
  Descriptors& d = plan->descriptors;
  SOMBRERO_CHECK_CUDNN(
      cudnnSetConvolutionMathType(d.conv, bf16_data ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  constexpr int kRequested = 16;
  int returned = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  bool found = false;
  // Keeps the fastest usable algorithm of a cudnnFind* result list (any of the three kinds).
  auto take = [&](const auto* best) {
    if (best == nullptr) return;
    found = true;
    plan->algo = best->algo;
    plan->workspace_bytes = best->memory;
    math = best->mathType;
  };
  switch (pass) {
    case Pass::forward: {
      std::array<cudnnConvolutionFwdAlgoPerf_t, kRequested> results{};
      SOMBRERO_CHECK_CUDNN(cudnnFindConvolutionForwardAlgorithm(
          handle, d.x, d.w, d.conv, d.y, kRequested, &returned, results.data()));
      take(fastest(results.data(), returned, bf16_data));
      break;
    }
    case Pass::backward_data: {
      std::array<cudnnConvolutionBwdDataAlgoPerf_t, kRequested> results{};
      SOMBRERO_CHECK_CUDNN(cudnnFindConvolutionBackwardDataAlgorithm(
          handle, d.w, d.y, d.conv, d.x, kRequested, &returned, results.data()));
      take(fastest(results.data(), returned, bf16_data));
      break;
    }
    case Pass::backward_filter: {
      std::array<cudnnConvolutionBwdFilterAlgoPerf_t, kRequested> results{};
      SOMBRERO_CHECK_CUDNN(cudnnFindConvolutionBackwardFilterAlgorithm(
          handle, d.x, d.y, d.conv, d.w, kRequested, &returned, results.data()));
      take(fastest(results.data(), returned, bf16_data));
      break;
    }
  }
  SOMBRERO_CHECK(found, "cuDNN has no working ", pass_name(pass), " algorithm for ",
                 bf16_data ? "bf16" : "f32", " convolution ", shape.to_string(), " (", returned,
                 " tried)");
  // f32 stays on FMA math whatever the result reports; bf16 runs with the math it was timed in.
  plan->math = bf16_data ? math : CUDNN_FMA_MATH;
  SOMBRERO_CHECK_CUDNN(cudnnSetConvolutionMathType(d.conv, plan->math));
  plan->description =
      str(algorithm_name(pass, plan->algo),
          plan->math == CUDNN_TENSOR_OP_MATH || plan->math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
              ? ", tensor ops"
              : "",
          ", workspace ", double(plan->workspace_bytes) / (1 << 20), " MiB",
          symmetric_padding(shape) ? "" : ", explicit asymmetric padding");
  return plan;
}

// The cached plan of (pass, shape, dtype, device), made on first use.
const Plan& plan_for(Pass pass, const Conv2dShape& s, bool bf16_data, int device,
                     cudnnHandle_t handle) {
  using Key = std::array<int, 18>;
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<Plan>> plans;
  const Key key = {int(pass),   device,        int(bf16_data), s.batch,      s.in_height,
                   s.in_width,  s.in_channels, s.out_channels, s.kernel_h,   s.kernel_w,
                   s.stride_h,  s.stride_w,    s.pad_top,      s.pad_bottom, s.pad_left,
                   s.pad_right, s.dilation_h,  s.dilation_w};
  std::lock_guard lock(mutex);
  auto& slot = plans[key];
  if (!slot) slot = make_plan(pass, s, bf16_data, handle);
  return *slot;
}

// Stream-ordered device memory for the duration of one call (workspace, padded copies).
class StreamBuffer {
 public:
  StreamBuffer(std::size_t bytes, cudaStream_t stream) : stream_(stream) {
    if (bytes > 0) SOMBRERO_CHECK_CUDA(cudaMallocAsync(&data_, bytes, stream));
  }
  ~StreamBuffer() {
    if (data_) cudaFreeAsync(data_, stream_);
  }
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;
  void* get() const { return data_; }

 private:
  void* data_ = nullptr;
  cudaStream_t stream_;
};

// Copies NHWC images between an unpadded [N, H, W, C] and a padded [N, H + pt + pb,
// W + pl + pr, C] buffer: one 3-D copy whose rows are the W*C contiguous elements of an
// image row, offset by (pl*C elements, pt rows) inside the padded image.
void copy_padded(const Conv2dShape& s, std::size_t element_bytes, const void* source, void* target,
                 bool into_padded, cudaStream_t stream) {
  const std::size_t row = std::size_t(s.in_width) * s.in_channels * element_bytes;
  const std::size_t padded_row =
      std::size_t(s.in_width + s.pad_left + s.pad_right) * s.in_channels * element_bytes;
  const std::size_t padded_height = std::size_t(s.in_height + s.pad_top + s.pad_bottom);
  const cudaPos offset =
      make_cudaPos(std::size_t(s.pad_left) * s.in_channels * element_bytes, s.pad_top, 0);
  cudaMemcpy3DParms p{};
  if (into_padded) {
    p.srcPtr = make_cudaPitchedPtr(const_cast<void*>(source), row, row, s.in_height);
    p.dstPtr = make_cudaPitchedPtr(target, padded_row, padded_row, padded_height);
    p.dstPos = offset;
  } else {
    p.srcPtr =
        make_cudaPitchedPtr(const_cast<void*>(source), padded_row, padded_row, padded_height);
    p.srcPos = offset;
    p.dstPtr = make_cudaPitchedPtr(target, row, row, s.in_height);
  }
  p.extent = make_cudaExtent(row, s.in_height, s.batch);
  p.kind = cudaMemcpyDeviceToDevice;
  SOMBRERO_CHECK_CUDA(cudaMemcpy3DAsync(&p, stream));
}

std::size_t padded_input_bytes(const Conv2dShape& s, std::size_t element_bytes) {
  return cudnn_shape(s).input_elements() * element_bytes;
}

cudnnHandle_t handle_on(int device, cudaStream_t stream) {
  cudnnHandle_t handle = runtime::CudaContext::get(device).cudnn();
  SOMBRERO_CHECK_CUDNN(cudnnSetStream(handle, stream));
  return handle;
}

void forward(const Conv2dShape& s, const void* x, const void* w, void* y, bool bf16_data,
             int device, cudaStream_t stream) {
  check_conv2d_shape(s);
  runtime::DeviceGuard guard(device);
  cudnnHandle_t handle = handle_on(device, stream);
  const Plan& plan = plan_for(Pass::forward, s, bf16_data, device, handle);
  const std::size_t element_bytes = bf16_data ? 2 : 4;
  StreamBuffer padded(symmetric_padding(s) ? 0 : padded_input_bytes(s, element_bytes), stream);
  if (padded.get()) {
    SOMBRERO_CHECK_CUDA(
        cudaMemsetAsync(padded.get(), 0, padded_input_bytes(s, element_bytes), stream));
    copy_padded(s, element_bytes, x, padded.get(), true, stream);
    x = padded.get();
  }
  StreamBuffer workspace(plan.workspace_bytes, stream);
  const float alpha = 1.0f, beta = 0.0f;
  const Descriptors& d = plan.descriptors;
  {
    runtime::kernel_profiler::Launch timed("cudnnConvolutionForward", __FILE__, __LINE__, stream,
                                           true);
    SOMBRERO_CHECK_CUDNN(cudnnConvolutionForward(
        handle, &alpha, d.x, x, d.w, w, d.conv, cudnnConvolutionFwdAlgo_t(plan.algo),
        workspace.get(), plan.workspace_bytes, &beta, d.y, y));
  }
}

void backward_data(const Conv2dShape& s, const void* dy, const void* w, void* dx, bool bf16_data,
                   int device, cudaStream_t stream) {
  check_conv2d_shape(s);
  runtime::DeviceGuard guard(device);
  cudnnHandle_t handle = handle_on(device, stream);
  const Plan& plan = plan_for(Pass::backward_data, s, bf16_data, device, handle);
  const std::size_t element_bytes = bf16_data ? 2 : 4;
  StreamBuffer padded(symmetric_padding(s) ? 0 : padded_input_bytes(s, element_bytes), stream);
  StreamBuffer workspace(plan.workspace_bytes, stream);
  const float alpha = 1.0f, beta = 0.0f;
  const Descriptors& d = plan.descriptors;
  {
    runtime::kernel_profiler::Launch timed("cudnnConvolutionBackwardData", __FILE__, __LINE__,
                                           stream, true);
    SOMBRERO_CHECK_CUDNN(cudnnConvolutionBackwardData(
        handle, &alpha, d.w, w, d.y, dy, d.conv, cudnnConvolutionBwdDataAlgo_t(plan.algo),
        workspace.get(), plan.workspace_bytes, &beta, d.x, padded.get() ? padded.get() : dx));
  }
  if (padded.get()) copy_padded(s, element_bytes, padded.get(), dx, false, stream);
}

// dw is f32 in both cases; for bf16 data cuDNN writes a bf16 dw that is widened here.
void backward_filter(const Conv2dShape& s, const void* x, const void* dy, float* dw,
                     bool accumulate, bool bf16_data, int device, cudaStream_t stream) {
  check_conv2d_shape(s);
  runtime::DeviceGuard guard(device);
  cudnnHandle_t handle = handle_on(device, stream);
  const Plan& plan = plan_for(Pass::backward_filter, s, bf16_data, device, handle);
  const std::size_t element_bytes = bf16_data ? 2 : 4;
  StreamBuffer padded(symmetric_padding(s) ? 0 : padded_input_bytes(s, element_bytes), stream);
  if (padded.get()) {
    SOMBRERO_CHECK_CUDA(
        cudaMemsetAsync(padded.get(), 0, padded_input_bytes(s, element_bytes), stream));
    copy_padded(s, element_bytes, x, padded.get(), true, stream);
    x = padded.get();
  }
  const std::size_t weights = s.weight_elements();
  StreamBuffer dw_bf16(bf16_data ? weights * 2 : 0, stream);
  StreamBuffer workspace(plan.workspace_bytes, stream);
  const float alpha = 1.0f, beta = accumulate && !bf16_data ? 1.0f : 0.0f;
  const Descriptors& d = plan.descriptors;
  {
    runtime::kernel_profiler::Launch timed("cudnnConvolutionBackwardFilter", __FILE__, __LINE__,
                                           stream, true);
    SOMBRERO_CHECK_CUDNN(cudnnConvolutionBackwardFilter(
        handle, &alpha, d.x, x, d.y, dy, d.conv, cudnnConvolutionBwdFilterAlgo_t(plan.algo),
        workspace.get(), plan.workspace_bytes, &beta, d.w, bf16_data ? dw_bf16.get() : dw));
  }
  if (!bf16_data) return;
  const auto* gradient = static_cast<const std::uint16_t*>(dw_bf16.get());
  if (!accumulate) {
    runtime::cuda::convert_bf16_to_f32(gradient, dw, std::int64_t(weights), stream);
    return;
  }
  // dw += widened gradient: cudnnAddTensor over the weights as an f32 [1, 1, 1, n] tensor.
  StreamBuffer widened(weights * 4, stream);
  runtime::cuda::convert_bf16_to_f32(gradient, static_cast<float*>(widened.get()),
                                     std::int64_t(weights), stream);
  cudnnTensorDescriptor_t flat = nullptr;
  SOMBRERO_CHECK_CUDNN(cudnnCreateTensorDescriptor(&flat));
  const cudnnStatus_t set =
      cudnnSetTensor4dDescriptor(flat, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, 1, int(weights));
  const float one = 1.0f;
  const cudnnStatus_t add = set == CUDNN_STATUS_SUCCESS
                                ? cudnnAddTensor(handle, &one, flat, widened.get(), &one, flat, dw)
                                : set;
  cudnnDestroyTensorDescriptor(flat);
  SOMBRERO_CHECK_CUDNN(add);
}

}  // namespace

void conv2d_forward(const Conv2dShape& shape, const float* x, const float* w, float* y, int device,
                    cudaStream_t stream) {
  forward(shape, x, w, y, false, device, stream);
}
void conv2d_forward(const Conv2dShape& shape, const bf16* x, const bf16* w, bf16* y, int device,
                    cudaStream_t stream) {
  forward(shape, x, w, y, true, device, stream);
}

void conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* w, float* dx,
                          int device, cudaStream_t stream) {
  backward_data(shape, dy, w, dx, false, device, stream);
}
void conv2d_backward_data(const Conv2dShape& shape, const bf16* dy, const bf16* w, bf16* dx,
                          int device, cudaStream_t stream) {
  backward_data(shape, dy, w, dx, true, device, stream);
}

void conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy, float* dw,
                            bool accumulate, int device, cudaStream_t stream) {
  backward_filter(shape, x, dy, dw, accumulate, false, device, stream);
}
void conv2d_backward_filter(const Conv2dShape& shape, const bf16* x, const bf16* dy, float* dw,
                            bool accumulate, int device, cudaStream_t stream) {
  backward_filter(shape, x, dy, dw, accumulate, true, device, stream);
}

std::string conv2d_algorithm_name(const char* pass, const Conv2dShape& shape, bool bf16_data,
                                  int device) {
  const std::string name = pass;
  Pass p = Pass::forward;
  if (name == "backward_data")
    p = Pass::backward_data;
  else if (name == "backward_filter")
    p = Pass::backward_filter;
  else
    SOMBRERO_CHECK(name == "forward", "unknown convolution pass '", name,
                   "': forward, backward_data or backward_filter");
  check_conv2d_shape(shape);
  runtime::DeviceGuard guard(device);
  cudnnHandle_t handle = runtime::CudaContext::get(device).cudnn();
  return plan_for(p, shape, bf16_data, device, handle).description;
}

}  // namespace sombrero::kernels::cudnn
