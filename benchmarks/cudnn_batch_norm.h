// cuDNN's BatchNorm as the baseline of `sombrero bench memory` (cudnn_batch_norm.cpp, builds
// with cuDNN only): training forward and backward on an NHWC tensor [N, H, W, C], f32 or bf16
// activations, f32 scale, bias and statistics, through the Ex API (cudnnBatchNormalization
// ForwardTrainingEx / BackwardEx, CUDNN_BATCHNORM_OPS_BN: the NHWC kernels PyTorch uses for
// channels_last). Mode CUDNN_BATCHNORM_SPATIAL_PERSISTENT where cuDNN accepts it, else
// CUDNN_BATCHNORM_SPATIAL; when neither runs, unsupported() says why.
#pragma once

#include <memory>
#include <string>

#include "runtime/dtype.h"
#include "runtime/stream_fwd.h"

namespace sombrero::benchmarks::cudnn {

struct BatchNormProblem {
  int batch = 1, height = 1, width = 1, channels = 1;
  runtime::DType dtype = runtime::DType::bf16;
  double eps = 1e-5, momentum = 0.1;
};

class BatchNorm {
 public:
  // gamma, beta: device f32 [C], kept by pointer. Runs one forward and one backward on the
  // given tensors to choose the mode (x, y, dy, dx: device [N, H, W, C] of dtype).
  BatchNorm(int device, cudaStream_t stream, const BatchNormProblem& problem, const float* gamma,
            const float* beta, const void* x, void* y, const void* dy, void* dx);
  ~BatchNorm();
  BatchNorm(const BatchNorm&) = delete;
  BatchNorm& operator=(const BatchNorm&) = delete;

  // Empty when a mode ran; otherwise the reason (cuDNN's status string per mode tried).
  const std::string& unsupported() const;
  const char* mode_name() const;  // "spatial_persistent" or "spatial"

  // y = BN(x) with the batch statistics (saved for backward; running statistics updated).
  void forward_training(const void* x, void* y);
  // dx from x, dy and the statistics the last forward_training saved; dgamma, dbeta overwritten.
  void backward(const void* x, const void* dy, void* dx);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sombrero::benchmarks::cudnn
