// Device helpers of the benchmarks (bench_kernels.cu, CUDA builds only). Baselines and
// checks, not product code:
//   - max_abs_difference: the cross-check that keeps a wrong kernel from looking fast;
//   - u1_moments + u1_gradient: the U(1) loss done unfused, as a framework without the fused
//     kernel would run it after a softmax-CE kernel and the energy kernel.
#pragma once

#include <cstdint>

#include "kernels/u1loss/u1_loss.h"
#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::benchmarks::cuda {

// result[0] = max_i |a_i - b_i|, result[1] = max_i |b_i| (device floats, overwritten; NaN
// anywhere in a makes result[0] NaN).
void max_abs_difference(const float* a, const float* b, long long n, float* result,
                        cudaStream_t stream);
void max_abs_difference(const bf16* a, const bf16* b, long long n, float* result,
                        cudaStream_t stream);

// Unfused U(1), pass 1 of 2: one block per sample reads the energy map E [B, H, W] (written
// by the energy kernel) and the activation A, and writes per sample moments[b, 0..5] =
// (S_E, z_img.x, z_img.y, S_A, z_feat.x, z_feat.y), the U(1) loss into sample_losses[b, 1],
// z [b, 2] and the angle readout. harmonic: [2, N] cos and sin of 2 pi n / N.
void u1_moments(const kernels::U1LossShape& shape, const kernels::U1LossConfig& config,
                const float* energy, const float* activation, const float* harmonic,
                const std::int32_t* labels, const float* class_angles, float* moments,
                float* sample_losses, float* z, std::int32_t* angle_prediction,
                cudaStream_t stream);
void u1_moments(const kernels::U1LossShape& shape, const kernels::U1LossConfig& config,
                const float* energy, const bf16* activation, const float* harmonic,
                const std::int32_t* labels, const float* class_angles, float* moments,
                float* sample_losses, float* z, std::int32_t* angle_prediction,
                cudaStream_t stream);

// Unfused U(1), pass 2 of 2: one thread per element, dA += lambda / B * dL_u1/dA from the
// moments of pass 1 (docs/u1.md, "Gradients").
void u1_gradient(const kernels::U1LossShape& shape, const kernels::U1LossConfig& config,
                 const float* activation, const float* harmonic, const float* moments,
                 const std::int32_t* labels, const float* class_angles, float* dactivation,
                 cudaStream_t stream);
void u1_gradient(const kernels::U1LossShape& shape, const kernels::U1LossConfig& config,
                 const bf16* activation, const float* harmonic, const float* moments,
                 const std::int32_t* labels, const float* class_angles, bf16* dactivation,
                 cudaStream_t stream);

}  // namespace sombrero::benchmarks::cuda
