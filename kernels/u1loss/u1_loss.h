// The fused one-hot + U(1) loss: softmax cross-entropy on the logits plus lambda times the
// U(1) loss of the bottleneck activation, forward and backward in one call.
// Definitions and hand-derived gradients: docs/u1.md. Backends: cpu (here), cuda and simt
// (u1_loss.cu, the same source built twice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/bf16.h"
#include "runtime/stream_fwd.h"

namespace sombrero::kernels {

enum class U1Space { image, feature, joint };

// The weights of the image and feature moments in z (docs/u1.md): 1 and 0, 0 and 1, or a
// half each (joint). constexpr, so the kernels call them too (--expt-relaxed-constexpr).
constexpr float image_share(U1Space space) {
  return space == U1Space::feature ? 0.0f : space == U1Space::joint ? 0.5f : 1.0f;
}
constexpr float feature_share(U1Space space) {
  return space == U1Space::image ? 0.0f : space == U1Space::joint ? 0.5f : 1.0f;
}

// "image" | "feature" | "joint"; throws sombrero::Error naming the valid choices.
U1Space parse_u1_space(const std::string& name);
const char* to_string(U1Space space);

struct U1LossShape {
  int batch = 0;
  int classes = 0;
  int height = 0;  // bottleneck activation, NHWC
  int width = 0;
  int channels = 0;
};

struct U1LossConfig {
  float weight = 0.0f;  // lambda; 0 = the one-hot baseline, no U(1) gradient work
  float eps = 1e-3f;    // activation floor (docs/u1.md)
  U1Space space = U1Space::joint;
  float label_smoothing = 0.0f;  // s in [0, 1)
};

// Which CUDA kernel runs the fused loss (u1_loss.cu). All read a sample's activation A in
// two passes (its gradient needs totals over the whole sample). `resident` keeps the sample's
// A in shared memory from the first pass to the second, so DRAM reads A once; it needs
// u1_loss_resident_shared_bytes per block (ResNet-50's 7x7x2048 bf16: 215 KB, which sm_90's
// 227 KB allows; f32 does not fit). `resident_pair` does the same with a pair of blocks per
// sample, a thread-block cluster (sm_90), each holding half of A and exchanging its totals
// with the other through distributed shared memory (7x7x2048 f32: 215 KB per block).
// `streaming` re-reads A in the second pass, from L2 where it is still there. `automatic` is
// `resident` wherever it fits, else `resident_pair` where that fits and clusters launch,
// else `streaming`.
enum class U1LossKernel { automatic, streaming, resident, resident_pair };
const char* to_string(U1LossKernel kernel);

// The resident kernels' default L2 request for the head of each stream of the next sweep,
// per block: one unrolled batch of the fused sweep (4 x 512 threads x 16 bytes). On an H100
// (2026-11-27): 0, 32, 64, 128 KB took 70.0, 68.7, 69.3, 71.3 us (bf16, ResNet-50's size).
inline constexpr int kResidentHeadPrefetchBytes = 32 * 1024;

// How the resident kernels (u1_loss_resident.cuh) feed their sweeps: speed only, never results.
struct U1ResidentTuning {
  // How much of each stream of its next sweep a block asks L2 for as it enters the totals
  // phase between two sweeps (prefetch_heads); 0: none.
  int head_prefetch_bytes = kResidentHeadPrefetchBytes;
  // In the sweep that updates one sample's dA and loads the next sample's A, each thread asks
  // L2 for its vectors of the next unrolled batch while loading this one's (two batches in
  // flight at DRAM, one in registers). Off until timed on a GPU: `sombrero bench loss` has it
  // on and off side by side.
  bool sweep_prefetch = false;
  // The block's first sweep (its first sample's A, into the slots it stays in) by bulk copies
  // (cp.async.bulk, one per 8 KB row of the share, all issued by one thread at the kernel's
  // start, each completing an mbarrier the readers wait on) instead of through every
  // thread's registers: the whole share in flight at once where the register loads keep 48 KB
  // per block in flight. Vector path only (16-byte rows); the moments are summed from shared
  // memory in the same order, so the results are the same bits. Off until timed on a GPU.
  bool bulk_first_sweep = false;
  // Every sample's A by bulk copies (implies bulk_first_sweep): in the sweep that updates one
  // sample's dA, the next sample's rows are copied into the slots as the update frees them (a
  // barrier per 4 rows), and their moments summed a chunk behind as they land; the registers
  // hold dA only. Same bits. Off until timed on a GPU.
  bool bulk_next_samples = false;
};

// Shared memory of one block of the resident kernel, `blocks` (1 or 2) of them per sample:
// reduction scratch, the harmonic table (N <= 4096) and the block's share of the sample's
// activation (`element_bytes` per element).
std::size_t u1_loss_resident_shared_bytes(const U1LossShape& shape, std::size_t element_bytes,
                                          int blocks = 1);

// The kernel `requested` resolves to on a device allowing `max_shared_bytes` per block and
// launching thread-block clusters or not: `automatic` as above; a resident kernel that does
// not fit, or a pair without clusters, throws sombrero::Error saying why.
U1LossKernel resolve_u1_loss_kernel(U1LossKernel requested, const U1LossShape& shape,
                                    std::size_t element_bytes, std::size_t max_shared_bytes,
                                    bool clusters);

// Batch means, for logging: loss = ce + weight * u1.
struct U1LossResult {
  double loss = 0.0;
  double ce = 0.0;
  double u1 = 0.0;
};

// Pointers of one call. `Activation` is float (CPU, CUDA, SIMT) or bf16 (CUDA, SIMT).
template <typename Activation>
struct U1LossArgsOf {
  const float* logits = nullptr;             // [batch, classes]
  const std::int32_t* labels = nullptr;      // [batch], each in [0, classes)
  const Activation* activation = nullptr;    // A [batch, height, width, channels], A >= 0
  const float* class_angles = nullptr;       // theta [classes], radians
  float* dlogits = nullptr;                  // [batch, classes], written: (softmax - q) / batch
  Activation* dactivation = nullptr;         // [batch, H, W, channels], += weight/batch dL_u1/dA
  float* z = nullptr;                        // optional [batch, 2]: (Re z, Im z)
  std::int32_t* angle_prediction = nullptr;  // optional [batch]: the angle readout
  float* sample_losses = nullptr;  // optional [batch, 2]: (ce, u1) per sample; the kernels need it
};
using U1LossArgs = U1LossArgsOf<float>;

// Validates shapes, labels and config values; throws sombrero::Error naming the problem.
void check_u1_loss_inputs(const U1LossShape& shape, const U1LossConfig& config,
                          const U1LossArgs& args);

// The class c whose angle is circularly nearest to `angle` (ties: the lower c).
int nearest_class_angle(double angle, const float* class_angles, int classes);

namespace cpu {
// Reads the activation only when weight > 0 or z / angle_prediction are asked for;
// dactivation is untouched when weight == 0.
U1LossResult u1_loss_forward_backward(const U1LossShape& shape, const U1LossConfig& config,
                                      const U1LossArgs& args);
}  // namespace cpu

// The hand-written fused kernel (u1_loss.cu): `cuda` on device pointers, asynchronous on
// `stream`; `simt`, the same source executed on the CPU over host pointers (tests).
// Labels are not validated on the device (check_u1_loss_inputs on the host copy does that);
// a sample whose label is out of range gets NaN losses, which the trainer's finiteness check
// reports. The batch means are the caller's reduction of sample_losses (required here).
// `kernel` picks the implementation (U1LossKernel above); every choice gives the same
// results up to f32 summation order; so does every `tuning` (U1ResidentTuning above).
#define SOMBRERO_U1_LOSS_KERNEL_API                                                   \
  void u1_loss_forward_backward(const U1LossShape& shape, const U1LossConfig& config, \
                                const U1LossArgsOf<float>& args, cudaStream_t stream, \
                                U1LossKernel kernel = U1LossKernel::automatic,        \
                                const U1ResidentTuning& tuning = {});                 \
  void u1_loss_forward_backward(const U1LossShape& shape, const U1LossConfig& config, \
                                const U1LossArgsOf<bf16>& args, cudaStream_t stream,  \
                                U1LossKernel kernel = U1LossKernel::automatic,        \
                                const U1ResidentTuning& tuning = {});
namespace cuda {
SOMBRERO_U1_LOSS_KERNEL_API
}  // namespace cuda
namespace simt {
SOMBRERO_U1_LOSS_KERNEL_API
}  // namespace simt
#undef SOMBRERO_U1_LOSS_KERNEL_API

// Batch means (ce, u1, loss) of per-sample losses [batch, 2] as the kernels write them.
U1LossResult mean_of_sample_losses(const float* sample_losses, int batch, float weight);

}  // namespace sombrero::kernels
