// im2col formulation. For one image, the column matrix col [P, Q] has one row per output
// pixel (P = OH * OW) and one column per weight tap (Q = R * S * C, in KRSC order), holding
// the input value each tap sees (0 in the padding). Then, with W viewed as [K, Q]:
//   forward          y  [P, K] = col  [P, Q] * W^T
//   backward-data    dcol [P, Q] = dy [P, K] * W,  then col2im scatters dcol into dx
//   backward-filter  dW [K, Q] += dy^T [K, P] * col [P, Q]   (summed over images)
// A 1x1, stride-1, unpadded convolution needs no col: it is x itself.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/conv/conv2d_cpu.h"
#include "runtime/error.h"

namespace sombrero::kernels::cpu {

namespace {

bool is_pointwise(const Conv2dShape& s) {
  return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
         s.pad_top == 0 && s.pad_bottom == 0 && s.pad_left == 0 && s.pad_right == 0;
}

// col [P, Q] of image x (HWC).
void im2col(const Conv2dShape& s, const float* x, float* col) {
  const int oh_n = s.out_height(), ow_n = s.out_width(), C = s.in_channels;
  for (int oh = 0; oh < oh_n; ++oh)
    for (int ow = 0; ow < ow_n; ++ow) {
      float* row = col + (std::size_t(oh) * ow_n + ow) * s.kernel_h * s.kernel_w * C;
      for (int r = 0; r < s.kernel_h; ++r) {
        const int ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
        for (int t = 0; t < s.kernel_w; ++t, row += C) {
          const int iw = ow * s.stride_w - s.pad_left + t * s.dilation_w;
          if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width)
            std::memset(row, 0, sizeof(float) * C);
          else
            std::memcpy(row, x + (std::size_t(ih) * s.in_width + iw) * C, sizeof(float) * C);
        }
      }
    }
}

// dx (HWC) += scatter of dcol [P, Q]; dx must be zeroed by the caller.
void col2im(const Conv2dShape& s, const float* dcol, float* dx) {
  const int oh_n = s.out_height(), ow_n = s.out_width(), C = s.in_channels;
  for (int oh = 0; oh < oh_n; ++oh)
    for (int ow = 0; ow < ow_n; ++ow) {
      const float* row = dcol + (std::size_t(oh) * ow_n + ow) * s.kernel_h * s.kernel_w * C;
      for (int r = 0; r < s.kernel_h; ++r) {
        const int ih = oh * s.stride_h - s.pad_top + r * s.dilation_h;
        for (int t = 0; t < s.kernel_w; ++t, row += C) {
          const int iw = ow * s.stride_w - s.pad_left + t * s.dilation_w;
          if (ih < 0 || ih >= s.in_height || iw < 0 || iw >= s.in_width) continue;
          float* target = dx + (std::size_t(ih) * s.in_width + iw) * C;
          for (int c = 0; c < C; ++c) target[c] += row[c];
        }
      }
    }
}

// Runs body(image, col_buffer) for every image, OpenMP over the batch, with OpenBLAS held to
// one thread inside the region (its own threads would oversubscribe the cores).
template <typename Body>
void for_each_image(const Conv2dShape& s, std::size_t col_elements, Body body) {
  const int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
#pragma omp parallel
  {
    std::vector<float> col(col_elements);
#pragma omp for schedule(static)
    for (int n = 0; n < s.batch; ++n) body(n, col.data());
  }
  openblas_set_num_threads(blas_threads);
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, float* y) {
  check_conv2d_shape(s);
  const int P = s.out_height() * s.out_width(), Q = s.kernel_h * s.kernel_w * s.in_channels;
  const int K = s.out_channels;
  const std::size_t x_image = std::size_t(s.in_height) * s.in_width * s.in_channels;
  const bool pointwise = is_pointwise(s);
  for_each_image(s, pointwise ? 0 : std::size_t(P) * Q, [&](int n, float* col) {
    const float* a = x + n * x_image;
    if (!pointwise) {
      im2col(s, a, col);
      a = col;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, K, Q, 1.0f, a, Q, w, Q, 0.0f,
                y + std::size_t(n) * P * K, K);
  });
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  check_conv2d_shape(s);
  const int P = s.out_height() * s.out_width(), Q = s.kernel_h * s.kernel_w * s.in_channels;
  const int K = s.out_channels;
  const std::size_t x_image = std::size_t(s.in_height) * s.in_width * s.in_channels;
  const bool pointwise = is_pointwise(s);
  for_each_image(s, pointwise ? 0 : std::size_t(P) * Q, [&](int n, float* dcol) {
    float* target = dx + n * x_image;
    float* c = pointwise ? target : dcol;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, Q, K, 1.0f,
                dy + std::size_t(n) * P * K, K, w, Q, 0.0f, c, Q);
    if (!pointwise) {
      std::memset(target, 0, sizeof(float) * x_image);
      col2im(s, dcol, target);
    }
  });
}

void conv2d_backward_filter(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            bool accumulate) {
  check_conv2d_shape(s);
  const int P = s.out_height() * s.out_width(), Q = s.kernel_h * s.kernel_w * s.in_channels;
  const int K = s.out_channels;
  const std::size_t x_image = std::size_t(s.in_height) * s.in_width * s.in_channels;
  const std::size_t w_elements = s.weight_elements();
  const bool pointwise = is_pointwise(s);
  // Per-thread partial sums, added in thread order at the end (deterministic for a fixed
  // thread count).
  const int threads = std::min(omp_get_max_threads(), s.batch);
  std::vector<float> partial(std::size_t(threads) * w_elements, 0.0f);
  const int blas_threads = openblas_get_num_threads();
  openblas_set_num_threads(1);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> col(pointwise ? 0 : std::size_t(P) * Q);
    float* mine = partial.data() + std::size_t(omp_get_thread_num()) * w_elements;
#pragma omp for schedule(static)
    for (int n = 0; n < s.batch; ++n) {
      const float* b = x + n * x_image;
      if (!pointwise) {
        im2col(s, b, col.data());
        b = col.data();
      }
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, Q, P, 1.0f,
                  dy + std::size_t(n) * P * K, K, b, Q, 1.0f, mine, Q);
    }
  }
  openblas_set_num_threads(blas_threads);
  for (std::size_t i = 0; i < w_elements; ++i) {
    float total = accumulate ? dw[i] : 0.0f;
    for (int t = 0; t < threads; ++t) total += partial[std::size_t(t) * w_elements + i];
    dw[i] = total;
  }
}

}  // namespace sombrero::kernels::cpu
