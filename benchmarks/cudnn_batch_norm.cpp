// cuDNN's BatchNorm baseline (see the header). Descriptors once per problem; the first
// forward + backward pair on the caller's tensors picks the mode: a mode whose workspace query
// or first call fails is skipped and its status kept as the reason.
#include "benchmarks/cudnn_batch_norm.h"

#include <cstdint>
#include <vector>

#include "runtime/cuda_check.h"
#include "runtime/cuda_context.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

namespace sombrero::benchmarks::cudnn {

namespace {

// An error string, or "" for success.
std::string failure(cudnnStatus_t status, const char* what) {
  return status == CUDNN_STATUS_SUCCESS ? std::string()
                                        : str(what, ": ", cudnnGetErrorString(status));
}

}  // namespace

struct BatchNorm::State {
  int device = 0;
  cudaStream_t stream = nullptr;
  BatchNormProblem problem;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t data = nullptr;    // x, y, dy, dx
  cudnnTensorDescriptor_t params = nullptr;  // scale, bias, mean, variance: f32 [1, C, 1, 1]
  cudnnBatchNormMode_t mode = CUDNN_BATCHNORM_SPATIAL_PERSISTENT;
  Tensor running_mean, running_var, save_mean, save_invvar, dgamma, dbeta;
  Tensor workspace, reserve;
  std::size_t workspace_bytes = 0, reserve_bytes = 0;
  std::string unsupported;

  Tensor bytes_on_device(std::size_t bytes) const {
    return Tensor::empty({std::int64_t((bytes + 3) / 4 + 1)}, runtime::DType::f32,
                         runtime::Device::cuda(device));
  }

  // Sizes the workspace and reserve space for `mode`; "" or why cuDNN refused.
  std::string size_buffers() {
    std::size_t forward = 0, backward = 0, reserve_size = 0;
    std::string why = failure(
        cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
            handle, mode, CUDNN_BATCHNORM_OPS_BN, data, nullptr, data, params, nullptr, &forward),
        "forward workspace");
    if (why.empty())
      why = failure(cudnnGetBatchNormalizationBackwardExWorkspaceSize(
                        handle, mode, CUDNN_BATCHNORM_OPS_BN, data, data, data, nullptr, data,
                        params, nullptr, &backward),
                    "backward workspace");
    if (why.empty())
      why = failure(cudnnGetBatchNormalizationTrainingExReserveSpaceSize(
                        handle, mode, CUDNN_BATCHNORM_OPS_BN, nullptr, data, &reserve_size),
                    "reserve space");
    if (!why.empty()) return why;
    workspace_bytes = std::max(forward, backward);
    reserve_bytes = reserve_size;
    workspace = bytes_on_device(workspace_bytes);
    reserve = bytes_on_device(reserve_bytes);
    return {};
  }

  cudnnStatus_t forward(const void* x, void* y) {
    const float one = 1.0f, zero = 0.0f;
    return cudnnBatchNormalizationForwardTrainingEx(
        handle, mode, CUDNN_BATCHNORM_OPS_BN, &one, &zero, data, x, nullptr, nullptr, data, y,
        params, gamma, beta, problem.momentum, running_mean.raw_data(), running_var.raw_data(),
        problem.eps, save_mean.raw_data(), save_invvar.raw_data(), nullptr, workspace.raw_data(),
        workspace_bytes, reserve.raw_data(), reserve_bytes);
  }

  cudnnStatus_t backward(const void* x, const void* dy, void* dx) {
    const float one = 1.0f, zero = 0.0f;
    return cudnnBatchNormalizationBackwardEx(
        handle, mode, CUDNN_BATCHNORM_OPS_BN, &one, &zero, &one, &zero, data, x, nullptr, nullptr,
        data, dy, nullptr, nullptr, data, dx, params, gamma, beta, dgamma.raw_data(),
        dbeta.raw_data(), problem.eps, save_mean.raw_data(), save_invvar.raw_data(), nullptr,
        workspace.raw_data(), workspace_bytes, reserve.raw_data(), reserve_bytes);
  }
};

BatchNorm::BatchNorm(int device, cudaStream_t stream, const BatchNormProblem& problem,
                     const float* gamma, const float* beta, const void* x, void* y, const void* dy,
                     void* dx)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.device = device;
  s.stream = stream;
  s.problem = problem;
  s.gamma = gamma;
  s.beta = beta;
  s.handle = runtime::CudaContext::get(device).cudnn();
  SOMBRERO_CHECK_CUDNN(cudnnSetStream(s.handle, stream));
  SOMBRERO_CHECK_CUDNN(cudnnCreateTensorDescriptor(&s.data));
  SOMBRERO_CHECK_CUDNN(cudnnCreateTensorDescriptor(&s.params));
  const cudnnDataType_t type =
      problem.dtype == runtime::DType::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  SOMBRERO_CHECK_CUDNN(cudnnSetTensor4dDescriptor(s.data, CUDNN_TENSOR_NHWC, type, problem.batch,
                                                  problem.channels, problem.height, problem.width));
  SOMBRERO_CHECK_CUDNN(cudnnSetTensor4dDescriptor(s.params, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                                  problem.channels, 1, 1));
  const runtime::Device gpu = runtime::Device::cuda(device);
  for (Tensor* t : {&s.running_mean, &s.save_mean, &s.save_invvar, &s.dgamma, &s.dbeta})
    *t = Tensor::zeros({problem.channels}, runtime::DType::f32, gpu);
  s.running_var = Tensor::full({problem.channels}, 1.0f, runtime::DType::f32, gpu);
  std::vector<std::string> reasons;
  for (const cudnnBatchNormMode_t mode :
       {CUDNN_BATCHNORM_SPATIAL_PERSISTENT, CUDNN_BATCHNORM_SPATIAL}) {
    s.mode = mode;
    std::string why = s.size_buffers();
    if (why.empty()) why = failure(s.forward(x, y), "forward");
    if (why.empty()) why = failure(s.backward(x, dy, dx), "backward");
    if (why.empty()) {
      SOMBRERO_CHECK_CUDA(cudaStreamSynchronize(stream));
      return;
    }
    reasons.push_back(str(mode_name(), " ", why));
  }
  s.unsupported = str("cuDNN ", CUDNN_VERSION, " refused: ", reasons[0], "; ", reasons[1]);
}

BatchNorm::~BatchNorm() {
  cudnnDestroyTensorDescriptor(state_->params);
  cudnnDestroyTensorDescriptor(state_->data);
}

const std::string& BatchNorm::unsupported() const {
  return state_->unsupported;
}

const char* BatchNorm::mode_name() const {
  return state_->mode == CUDNN_BATCHNORM_SPATIAL_PERSISTENT ? "spatial_persistent" : "spatial";
}

void BatchNorm::forward_training(const void* x, void* y) {
  SOMBRERO_CHECK(state_->unsupported.empty(), state_->unsupported);
  SOMBRERO_CHECK_CUDNN(state_->forward(x, y));
}

void BatchNorm::backward(const void* x, const void* dy, void* dx) {
  SOMBRERO_CHECK(state_->unsupported.empty(), state_->unsupported);
  SOMBRERO_CHECK_CUDNN(state_->backward(x, dy, dx));
}

}  // namespace sombrero::benchmarks::cudnn
