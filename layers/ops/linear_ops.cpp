#include "layers/ops/linear_ops.h"

#include <cstdint>

#include "kernels/linear/linear.h"
#include "kernels/pointwise/pointwise.h"
#include "layers/ops/dispatch.h"
#include "layers/ops/pointwise_ops.h"
#include "runtime/error.h"

namespace sombrero::layers::ops {

namespace {

struct LinearSizes {
  int batch, in_features, out_features;
};

// x [B, in], w [out, in], y [B, out] (for backward-data: dx, w, dy).
LinearSizes check_linear(const char* op, const Tensor& x, const Tensor& w, const Tensor& y) {
  check_same_device(op, {{"x", &x}, {"w", &w}, {"y", &y}});
  check_dtype(op, x.dtype(), {{"x", &x}, {"w", &w}, {"y", &y}});
  check_cpu_backend_f32(op, x);
  SOMBRERO_CHECK(x.rank() == 2 && w.rank() == 2 && y.rank() == 2 && x.dim(1) == w.dim(1) &&
                     y.dim(0) == x.dim(0) && y.dim(1) == w.dim(0),
                 op, ": shapes x ", to_string(x.shape()), ", w ", to_string(w.shape()), ", y ",
                 to_string(y.shape()), " are not [B, in], [out, in], [B, out]");
  return {int(x.dim(0)), int(x.dim(1)), int(w.dim(0))};
}

void check_f32_vector(const char* op, const char* name, const Tensor& like, const Tensor& v,
                      std::int64_t n) {
  check_same_device(op, {{"activation", &like}, {name, &v}});
  check_dtype(op, DType::f32, {{name, &v}});
  SOMBRERO_CHECK(v.numel() == n, op, ": ", name, " has ", v.numel(), " values, expected ", n);
}

// A host tensor as f32 (itself when it is f32).
Tensor as_f32(const Tensor& t) {
  return t.dtype() == DType::f32 ? t : t.to_dtype(DType::f32);
}

// Writes the f32 host result into `out` (a copy rounded to bf16 when out is bf16).
void store(const Tensor& result, Tensor& out) {
  if (!result.shares_storage_with(out)) out.copy_from(result.to_dtype(out.dtype()));
}

// An f32 host tensor to compute `out` in: out itself when it is f32.
Tensor f32_target(const Tensor& out) {
  return out.dtype() == DType::f32 ? out : Tensor::empty(out.shape(), DType::f32, out.device());
}

#if defined(SOMBRERO_HAVE_CUDA)
cublasHandle_t cublas_of(const Tensor& t) {
  return runtime::CudaContext::get(t.device().index).cublas();
}
#endif

}  // namespace

void linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  const char* op = "linear_forward";
  const LinearSizes n = check_linear(op, x, w, y);
  if (bias != nullptr) check_f32_vector(op, "bias", x, *bias, n.out_features);
  const float* bias_data = bias != nullptr ? bias->data<float>() : nullptr;
  if (x.is_cpu()) {
    kernels::cpu::linear_forward(n.batch, n.in_features, n.out_features, x.data<float>(),
                                 w.data<float>(), bias_data, y.data<float>());
  } else if (x.is_cuda()) {
#if defined(SOMBRERO_HAVE_CUDA)
    const runtime::DeviceGuard guard(x.device().index);
    with_element_type(x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      kernels::cuda::linear_forward(cublas_of(x), n.batch, n.in_features, n.out_features,
                                    x.data<T>(), w.data<T>(), bias_data, y.data<T>(), x.stream());
    });
#else
    fail_cuda_not_built(op);
#endif
  } else {
    Tensor result = f32_target(y);
    kernels::cpu::linear_forward(n.batch, n.in_features, n.out_features, as_f32(x).data<float>(),
                                 as_f32(w).data<float>(), nullptr, result.data<float>());
    store(result, y);
    if (bias != nullptr) bias_add(*bias, y);
  }
}

void linear_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx) {
  const char* op = "linear_backward_data";
  const LinearSizes n = check_linear(op, dx, w, dy);
  if (dy.is_cpu()) {
    kernels::cpu::linear_backward_data(n.batch, n.in_features, n.out_features, dy.data<float>(),
                                       w.data<float>(), dx.data<float>());
  } else if (dy.is_cuda()) {
#if defined(SOMBRERO_HAVE_CUDA)
    const runtime::DeviceGuard guard(dy.device().index);
    with_element_type(dy.dtype(), [&](auto zero) {
      using T = decltype(zero);
      kernels::cuda::linear_backward_data(cublas_of(dy), n.batch, n.in_features, n.out_features,
                                          dy.data<T>(), w.data<T>(), dx.data<T>(), dy.stream());
    });
#else
    fail_cuda_not_built(op);
#endif
  } else {
    Tensor result = f32_target(dx);
    kernels::cpu::linear_backward_data(n.batch, n.in_features, n.out_features,
                                       as_f32(dy).data<float>(), as_f32(w).data<float>(),
                                       result.data<float>());
    store(result, dx);
  }
}

void linear_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* dbias) {
  const char* op = "linear_backward_weight";
  check_same_device(op, {{"x", &x}, {"dy", &dy}, {"dw", &dw}});
  check_dtype(op, x.dtype(), {{"x", &x}, {"dy", &dy}});
  check_dtype(op, DType::f32, {{"dw", &dw}});
  check_cpu_backend_f32(op, x);
  SOMBRERO_CHECK(x.rank() == 2 && dy.rank() == 2 && dw.rank() == 2 && x.dim(0) == dy.dim(0) &&
                     dw.dim(0) == dy.dim(1) && dw.dim(1) == x.dim(1),
                 op, ": shapes x ", to_string(x.shape()), ", dy ", to_string(dy.shape()), ", dw ",
                 to_string(dw.shape()), " are not [B, in], [B, out], [out, in]");
  const LinearSizes n{int(x.dim(0)), int(x.dim(1)), int(dy.dim(1))};
  if (dbias != nullptr) check_f32_vector(op, "dbias", x, *dbias, n.out_features);
  float* dbias_data = dbias != nullptr ? dbias->data<float>() : nullptr;
  if (x.is_cpu()) {
    kernels::cpu::linear_backward_weight(n.batch, n.in_features, n.out_features, x.data<float>(),
                                         dy.data<float>(), dw.data<float>(), dbias_data);
  } else if (x.is_cuda()) {
#if defined(SOMBRERO_HAVE_CUDA)
    const runtime::DeviceGuard guard(x.device().index);
    Tensor workspace = dbias != nullptr
                           ? workspace_floats(x, kernels::cuda::linear_bias_workspace_floats(
                                                     n.batch, n.out_features))
                           : Tensor();
    float* scratch = workspace.defined() ? workspace.data<float>() : nullptr;
    with_element_type(x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      kernels::cuda::linear_backward_weight(cublas_of(x), n.batch, n.in_features, n.out_features,
                                            x.data<T>(), dy.data<T>(), dw.data<float>(), dbias_data,
                                            scratch, x.stream());
    });
#else
    fail_cuda_not_built(op);
#endif
  } else {
    kernels::cpu::linear_backward_weight(n.batch, n.in_features, n.out_features,
                                         as_f32(x).data<float>(), as_f32(dy).data<float>(),
                                         dw.data<float>(), nullptr);
    if (dbias != nullptr) bias_backward(dy, *dbias);
  }
}

}  // namespace sombrero::layers::ops
