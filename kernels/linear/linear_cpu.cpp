// CPU backend of the fully connected layer (linear.h): three sgemm calls.
#include <cblas.h>

#include "kernels/linear/linear.h"
#include "kernels/pointwise/pointwise.h"

namespace sombrero::kernels::cpu {

void linear_forward(int batch, int in_features, int out_features, const float* x, const float* w,
                    const float* bias, float* y) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out_features, in_features, 1.0f, x,
              in_features, w, in_features, 0.0f, y, out_features);
  if (bias != nullptr) bias_add(batch, out_features, bias, y);
}

void linear_backward_data(int batch, int in_features, int out_features, const float* dy,
                          const float* w, float* dx) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in_features, out_features, 1.0f, dy,
              out_features, w, in_features, 0.0f, dx, in_features);
}

void linear_backward_weight(int batch, int in_features, int out_features, const float* x,
                            const float* dy, float* dw, float* dbias) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_features, in_features, batch, 1.0f, dy,
              out_features, x, in_features, 1.0f, dw, in_features);
  if (dbias != nullptr) bias_backward(batch, out_features, dy, dbias);
}

}  // namespace sombrero::kernels::cpu
