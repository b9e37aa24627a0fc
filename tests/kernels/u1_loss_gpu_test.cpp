// The energy and fused U(1) loss kernels on a real GPU, at the ResNet-50 bottleneck size
// (N = 256, 7x7x2048, 1000 classes), against the CPU backend. Skips without a device.
// Aligned buffers take the kernels' 16-byte vector path; the same buffers viewed one element
// in (misaligned) take the scalar path. bf16 runs both fused-loss kernels (streaming, and
// resident: the sample's 200 KB of A kept in shared memory); f32's sample does not fit shared
// memory, so it streams.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>

#include "kernels/common/vector16.h"
#include "kernels/energy/energy.h"
#include "kernels/u1loss/class_angles.h"
#include "kernels/u1loss/u1_loss.h"
#include "runtime/device_info.h"
#include "runtime/error.h"
#include "tests/support/device_buffer.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::relative_error;

// `host` on the device, one element further in when `offset` is 1 (misaligned for 16 bytes).
template <typename T>
struct OffsetDeviceBuffer {
  test::DeviceBuffer<T> buffer;
  int offset;
  OffsetDeviceBuffer(const std::vector<T>& host, int element_offset)
      : buffer(with_front_padding(host, element_offset)), offset(element_offset) {}
  T* get() { return buffer.get() + offset; }
  std::vector<T> download() const {
    std::vector<T> all = buffer.download();
    return std::vector<T>(all.begin() + offset, all.end());
  }
  static std::vector<T> with_front_padding(const std::vector<T>& host, int pad) {
    std::vector<T> padded(pad, T{});
    padded.insert(padded.end(), host.begin(), host.end());
    return padded;
  }
};

template <typename T>
bool vector_path(int channels, std::initializer_list<const void*> pointers) {
  return rows_split_into_16_byte_vectors(channels, sizeof(T), pointers);
}

struct GpuCase {
  U1Space space;
  int offset;  // 0: vector path, 1: scalar path
};

// A batch of inputs: logits ~ N(0, 3^2), labels uniform over the classes, activations half
// zero and half uniform in [0, 2) rounded to bf16 (so f32 and bf16 kernels see the same A).
struct HostInputs {
  std::vector<float> logits, activation, angles;
  std::vector<std::int32_t> labels;
};

HostInputs make_host_inputs(const U1LossShape& shape, unsigned seed, ClassAngles angles) {
  HostInputs in;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 2.0f);
  in.logits.resize(std::size_t(shape.batch) * shape.classes);
  for (float& v : in.logits) v = normal(rng);
  in.labels.resize(shape.batch);
  for (auto& l : in.labels) l = int(rng() % shape.classes);
  in.activation.resize(std::size_t(shape.batch) * shape.height * shape.width * shape.channels);
  for (float& v : in.activation) v = rng() % 2 ? 0.0f : bf16_to_float(float_to_bf16(uniform(rng)));
  in.angles = class_angle_table(angles, shape.classes, seed);
  return in;
}

class U1LossGpu : public testing::TestWithParam<GpuCase> {};

TEST_P(U1LossGpu, ResNet50BottleneckMatchesCpuBackendInF32AndBf16) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const U1LossShape shape{256, 1000, 7, 7, 2048};
  const U1LossConfig config{0.1f, 1e-3f, GetParam().space, 0.1f};
  const int offset = GetParam().offset;
  const auto [logits, activation, angles, labels] =
      make_host_inputs(shape, 1, ClassAngles::uniform);
  const std::size_t elements = activation.size();

  std::vector<float> dlogits_cpu(logits.size()), dact_cpu(elements, 0.0f), z_cpu(2 * shape.batch);
  std::vector<std::int32_t> pred_cpu(shape.batch);
  U1LossArgs cpu_args;
  cpu_args.logits = logits.data();
  cpu_args.labels = labels.data();
  cpu_args.activation = activation.data();
  cpu_args.class_angles = angles.data();
  cpu_args.dlogits = dlogits_cpu.data();
  cpu_args.dactivation = dact_cpu.data();
  cpu_args.z = z_cpu.data();
  cpu_args.angle_prediction = pred_cpu.data();
  const U1LossResult cpu_result = cpu::u1_loss_forward_backward(shape, config, cpu_args);

  test::DeviceBuffer<float> d_logits(logits), d_angles(angles);
  test::DeviceBuffer<std::int32_t> d_labels(labels);
  {  // f32 activations: automatic is the pair of blocks per sample on sm_90, else streaming
    OffsetDeviceBuffer<float> d_act(activation, offset),
        d_dact(std::vector<float>(elements, 0.0f), offset);
    EXPECT_EQ(vector_path<float>(shape.channels, {d_act.get(), d_dact.get()}), offset == 0);
    test::DeviceBuffer<float> d_dlogits(std::vector<float>(logits.size(), NAN));
    test::DeviceBuffer<float> d_z(std::vector<float>(2 * shape.batch)),
        d_losses(std::vector<float>(2 * shape.batch));
    test::DeviceBuffer<std::int32_t> d_pred(std::vector<std::int32_t>(shape.batch, -1));
    U1LossArgsOf<float> args{d_logits.get(), d_labels.get(),  d_act.get(),
                             d_angles.get(), d_dlogits.get(), d_dact.get(),
                             d_z.get(),      d_pred.get(),    d_losses.get()};
    cuda::u1_loss_forward_backward(shape, config, args, nullptr);
    const std::vector<float> losses = d_losses.download();
    const U1LossResult r = mean_of_sample_losses(losses.data(), shape.batch, config.weight);
    EXPECT_NEAR(r.ce, cpu_result.ce, 1e-5 * cpu_result.ce);
    // The kernel sums 100352 activations per sample in f32 (the CPU in double): relative
    // error up to ~sqrt(n) * 6e-8 = 2e-5 in the totals, and in z and dA through them.
    EXPECT_NEAR(r.u1, cpu_result.u1, 1e-4);
    EXPECT_LT(relative_error(d_dlogits.download(), dlogits_cpu), 1e-5);
    EXPECT_LT(relative_error(d_dact.download(), dact_cpu), 1e-4);
    const std::vector<float> z = d_z.download();
    for (std::size_t i = 0; i < z.size(); ++i) EXPECT_NEAR(z[i], z_cpu[i], 1e-4);
    // Readouts may differ where f32 rounding moves angle(z) across the boundary between two
    // neighbouring class angles (1000 classes are 0.006 rad apart); never further.
    const std::vector<std::int32_t> pred = d_pred.download();
    for (int b = 0; b < shape.batch; ++b) {
      const int apart = std::abs(pred[b] - pred_cpu[b]);
      EXPECT_TRUE(apart == 0 || apart == 1 || apart == shape.classes - 1)
          << "sample " << b << ": " << pred[b] << " vs " << pred_cpu[b];
    }
  }
  std::vector<bf16> act16(elements), zero16(elements, float_to_bf16(0.0f));
  for (std::size_t i = 0; i < elements; ++i) act16[i] = float_to_bf16(activation[i]);
  for (U1LossKernel kernel :
       {U1LossKernel::streaming, U1LossKernel::resident, U1LossKernel::resident_pair}) {
    SCOPED_TRACE(str("bf16, ", to_string(kernel), " kernel"));

    OffsetDeviceBuffer<bf16> d_act(act16, offset), d_dact(zero16, offset);
    EXPECT_EQ(vector_path<bf16>(shape.channels, {d_act.get(), d_dact.get()}), offset == 0);
    test::DeviceBuffer<float> d_dlogits(std::vector<float>(logits.size())),
        d_losses(std::vector<float>(2 * shape.batch));
    U1LossArgsOf<bf16> args;
    args.logits = d_logits.get();
    args.labels = d_labels.get();
    args.activation = d_act.get();
    args.class_angles = d_angles.get();
    args.dlogits = d_dlogits.get();
    args.dactivation = d_dact.get();
    args.sample_losses = d_losses.get();
    const runtime::DeviceInfo device = runtime::cuda_devices()[0];
    const bool unavailable = (kernel == U1LossKernel::resident &&
                              u1_loss_resident_shared_bytes(shape, sizeof(bf16)) >
                                  device.shared_memory_per_block_optin) ||  // before sm_90
                             (kernel == U1LossKernel::resident_pair && !device.cluster_launch);
    if (unavailable) {
      EXPECT_THROW(cuda::u1_loss_forward_backward(shape, config, args, nullptr, kernel), Error);
      continue;
    }
    cuda::u1_loss_forward_backward(shape, config, args, nullptr, kernel);
    const std::vector<float> losses = d_losses.download();
    EXPECT_NEAR(mean_of_sample_losses(losses.data(), shape.batch, config.weight).loss,
                cpu_result.loss, 1e-4 * cpu_result.loss);
    const std::vector<bf16> dact16 = d_dact.download();
    std::vector<float> dact(elements);
    for (std::size_t i = 0; i < elements; ++i) dact[i] = bf16_to_float(dact16[i]);
    EXPECT_LT(relative_error(dact, dact_cpu), 1e-2);  // bf16 storage
  }
}

// How the resident kernels feed their sweeps (U1ResidentTuning: L2 requests for the heads of
// the next sweep and for the next batch within a sweep; bulk copies for the first sweep or
// for every sample) changes their speed only: every output is bit for bit the default's, at
// ResNet-50's size (where the in-sweep request runs: over 2048 vectors per block; 25
// bulk-copied rows per block in bf16, 13 per block of an f32 pair) in bf16 (one block per
// sample, and a pair) and f32 (a pair).
TEST(U1LossGpuResident, FeedingSettingsNeverChangeResultsAtResNet50Size) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const runtime::DeviceInfo device = runtime::cuda_devices()[0];
  if (!device.cluster_launch) GTEST_SKIP() << "the pair kernels need thread-block clusters";
  const U1LossShape shape{256, 1000, 7, 7, 2048};
  const U1LossConfig config{0.1f, 1e-3f, U1Space::joint, 0.1f};
  const auto [logits, activation, angles, labels] =
      make_host_inputs(shape, 5, ClassAngles::uniform);
  const std::size_t elements = activation.size();
  test::DeviceBuffer<float> d_logits(logits), d_angles(angles);
  test::DeviceBuffer<std::int32_t> d_labels(labels);
  test::DeviceBuffer<bf16> d_act16(test::as<bf16>(activation));
  test::DeviceBuffer<float> d_act32(activation);
  const U1ResidentTuning tunings[] = {{},
                                      {0, false},
                                      {0, true},
                                      {32 * 1024, true},
                                      {128 * 1024, true},
                                      {32 * 1024, false, true},
                                      {32 * 1024, true, true},
                                      {0, false, true},
                                      {32 * 1024, false, false, true},
                                      {32 * 1024, true, false, true}};
  struct Outputs {
    std::vector<float> dactivation, dlogits, losses;
  };
  // One run from dA = 0.125 (accumulated onto) with `tuning`.
  const auto run = [&]<typename T>(test::DeviceBuffer<T>& d_act, U1LossKernel kernel,
                                   const U1ResidentTuning& tuning) {
    test::DeviceBuffer<T> d_dact(test::as<T>(std::vector<float>(elements, 0.125f)));
    test::DeviceBuffer<float> d_dlogits(std::vector<float>(logits.size())),
        d_losses(std::vector<float>(2 * shape.batch));
    const U1LossArgsOf<T> args{d_logits.get(), d_labels.get(),  d_act.get(),
                               d_angles.get(), d_dlogits.get(), d_dact.get(),
                               nullptr,        nullptr,         d_losses.get()};
    cuda::u1_loss_forward_backward(shape, config, args, nullptr, kernel, tuning);
    return Outputs{test::widen(d_dact.download()), d_dlogits.download(), d_losses.download()};
  };
  const auto compare = [&](auto& d_act, U1LossKernel kernel, const char* dtype) {
    const Outputs reference = run(d_act, kernel, U1ResidentTuning{});
    for (const U1ResidentTuning& tuning : tunings) {
      SCOPED_TRACE(str(dtype, ", ", to_string(kernel), ", heads ", tuning.head_prefetch_bytes,
                       " B, next batch ", tuning.sweep_prefetch, ", bulk first sweep ",
                       tuning.bulk_first_sweep, ", bulk every sample ", tuning.bulk_next_samples));
      const Outputs got = run(d_act, kernel, tuning);
      EXPECT_EQ(got.dactivation, reference.dactivation);
      EXPECT_EQ(got.dlogits, reference.dlogits);
      EXPECT_EQ(got.losses, reference.losses);
    }
  };
  if (u1_loss_resident_shared_bytes(shape, sizeof(bf16)) <= device.shared_memory_per_block_optin)
    compare(d_act16, U1LossKernel::resident, "bf16");
  compare(d_act16, U1LossKernel::resident_pair, "bf16");
  compare(d_act32, U1LossKernel::resident_pair, "f32");
}

INSTANTIATE_TEST_SUITE_P(Spaces, U1LossGpu,
                         testing::Values(GpuCase{U1Space::image, 0}, GpuCase{U1Space::feature, 0},
                                         GpuCase{U1Space::joint, 0}, GpuCase{U1Space::joint, 1}),
                         [](const testing::TestParamInfo<GpuCase>& info) {
                           return std::string(to_string(info.param.space)) +
                                  (info.param.offset ? "_misaligned" : "");
                         });

// The resident kernel is persistent: with more samples than the device holds blocks (132 on
// an H100 at this size) or pairs (66), each block carries its shared memory from sample to
// sample. Four labels are out of range (a block's first sample, another's second, the next
// block's, the batch's last): those samples get NaN losses and dlogits and keep their dA;
// every other sample matches the CPU backend, with the readout and without it (its barriers
// are then absent: the double-buffered totals alone keep consecutive samples apart), and with
// the first sweep or every sample by bulk copies (mbarriers), one block per sample and a pair (a
// cluster exchanging totals through distributed shared memory). Small enough for racecheck
// (tools/gpu_check.sh sanitize), which the ResNet-50 case above is not.
TEST(U1LossGpuResident, BlocksLoopingOverSamplesMatchTheCpuBackend) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const U1LossShape shape{300, 10, 7, 7, 2048};
  const runtime::DeviceInfo device = runtime::cuda_devices()[0];
  if (u1_loss_resident_shared_bytes(shape, sizeof(bf16)) > device.shared_memory_per_block_optin)
    GTEST_SKIP() << "a 7x7x2048 bf16 sample does not fit this device's shared memory";
  const U1LossConfig config{0.5f, 1e-3f, U1Space::joint, 0.1f};
  const auto [logits, activation, angles, labels] = make_host_inputs(shape, 3, ClassAngles::random);
  const std::size_t sample = 7 * 7 * 2048, elements = activation.size();
  std::vector<float> dlogits_cpu(logits.size()), dact_cpu(elements, 0.0f),
      losses_cpu(2 * shape.batch);
  const U1LossArgs cpu_args{logits.data(),      labels.data(),   activation.data(), angles.data(),
                            dlogits_cpu.data(), dact_cpu.data(), nullptr,           nullptr,
                            losses_cpu.data()};
  cpu::u1_loss_forward_backward(shape, config, cpu_args);

  const std::vector<int> invalid = {5, 140, 141, 299};
  std::vector<std::int32_t> gpu_labels = labels;
  for (int b : invalid) gpu_labels[std::size_t(b)] = -1;
  // dA starts at 0 (the gradient alone is compared: added to anything larger it would
  // vanish in bf16 rounding), and at 0.125 in the invalid samples, which must keep it.
  const float kept = 0.125f;
  std::vector<bf16> act16(elements), start16(elements, float_to_bf16(0.0f));
  for (std::size_t i = 0; i < elements; ++i) act16[i] = float_to_bf16(activation[i]);
  for (int b : invalid)
    std::fill_n(start16.begin() + long(std::size_t(b) * sample), sample, float_to_bf16(kept));
  test::DeviceBuffer<float> d_logits(logits), d_angles(angles);
  test::DeviceBuffer<std::int32_t> d_labels(gpu_labels);
  test::DeviceBuffer<bf16> d_act(act16);
  for (const U1LossKernel kernel : {U1LossKernel::resident, U1LossKernel::resident_pair}) {
    if (kernel == U1LossKernel::resident_pair && !device.cluster_launch) continue;  // before sm_90
    // readout, bulk copies: 0 none, 1 the first sweep, 2 every sample
    const std::pair<bool, int> variants[] = {{false, 0}, {true, 0}, {true, 1}, {false, 2}};
    for (const auto& [readout, bulk] : variants) {
      SCOPED_TRACE(str(to_string(kernel), readout ? ", with the readout" : ", without the readout",
                       bulk == 1   ? ", first sweep by bulk copies"
                       : bulk == 2 ? ", every sample by bulk copies"
                                   : ""));
      U1ResidentTuning tuning;
      tuning.bulk_first_sweep = bulk == 1;
      tuning.bulk_next_samples = bulk == 2;
      test::DeviceBuffer<bf16> d_dact(start16);
      test::DeviceBuffer<float> d_dlogits(std::vector<float>(logits.size())),
          d_losses(std::vector<float>(2 * shape.batch)), d_z(std::vector<float>(2 * shape.batch));
      test::DeviceBuffer<std::int32_t> d_pred(std::vector<std::int32_t>(shape.batch, -1));
      const U1LossArgsOf<bf16> args{d_logits.get(),
                                    d_labels.get(),
                                    d_act.get(),
                                    d_angles.get(),
                                    d_dlogits.get(),
                                    d_dact.get(),
                                    readout ? d_z.get() : nullptr,
                                    readout ? d_pred.get() : nullptr,
                                    d_losses.get()};
      cuda::u1_loss_forward_backward(shape, config, args, nullptr, kernel, tuning);
      const std::vector<float> losses = d_losses.download(), dlogits = d_dlogits.download();
      const std::vector<bf16> dact16 = d_dact.download();
      const std::vector<std::int32_t> pred = d_pred.download();
      std::vector<float> got_valid, want_valid;  // dA of the valid samples
      for (int b = 0; b < shape.batch; ++b) {
        const std::size_t s = std::size_t(b), C = std::size_t(shape.classes);
        const bool bad = std::find(invalid.begin(), invalid.end(), b) != invalid.end();
        if (bad) {
          EXPECT_TRUE(std::isnan(losses[2 * s]) && std::isnan(losses[2 * s + 1])) << b;
          EXPECT_TRUE(std::isnan(dlogits[s * C])) << b;
          for (std::size_t i = s * sample; i < (s + 1) * sample; ++i)
            ASSERT_EQ(bf16_to_float(dact16[i]), kept) << "sample " << b << " element " << i;
          if (readout) {
            EXPECT_EQ(pred[s], -1) << b;
          }
          continue;
        }
        EXPECT_NEAR(losses[2 * s], losses_cpu[2 * s], 1e-5 * std::abs(losses_cpu[2 * s]) + 1e-6)
            << b;
        EXPECT_NEAR(losses[2 * s + 1], losses_cpu[2 * s + 1], 1e-4) << b;  // 100352-term sums
        for (std::size_t j = s * C; j < (s + 1) * C; ++j)
          EXPECT_NEAR(dlogits[j], dlogits_cpu[j], 1e-7 + 1e-5 * std::abs(dlogits_cpu[j])) << b;
        for (std::size_t i = s * sample; i < (s + 1) * sample; ++i) {
          got_valid.push_back(bf16_to_float(dact16[i]));
          want_valid.push_back(dact_cpu[i]);
        }
      }
      EXPECT_LT(relative_error(got_valid, want_valid), 1e-2);  // bf16 storage
    }
  }
}

class EnergyGpu : public testing::TestWithParam<int> {};  // the element offset

TEST_P(EnergyGpu, MatchesCpuBackendInF32AndBf16) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const int offset = GetParam();
  const EnergyShape shape{64, 7, 7, 2048};
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> a(shape.sites() * shape.channels), de(shape.sites());
  for (float& v : a) v = bf16_to_float(float_to_bf16(uniform(rng)));
  for (float& v : de) v = uniform(rng);
  std::vector<float> e_cpu(shape.sites()), da_cpu(a.size(), 0.0f);
  cpu::energy_forward(shape, a.data(), e_cpu.data());
  cpu::energy_backward(shape, a.data(), de.data(), da_cpu.data());
  test::DeviceBuffer<float> d_de(de), d_e(std::vector<float>(shape.sites()));
  {
    OffsetDeviceBuffer<float> d_a(a, offset), d_da(std::vector<float>(a.size(), 0.0f), offset);
    EXPECT_EQ(vector_path<float>(shape.channels, {d_a.get(), d_da.get()}), offset == 0);
    cuda::energy_forward(shape, d_a.get(), d_e.get(), nullptr);
    cuda::energy_backward(shape, d_a.get(), d_de.get(), d_da.get(), nullptr);
    EXPECT_LT(relative_error(d_e.download(), e_cpu), 1e-6);
    EXPECT_LT(relative_error(d_da.download(), da_cpu), 1e-6);
  }
  {
    std::vector<bf16> a16(a.size()), zero16(a.size(), float_to_bf16(0.0f));
    for (std::size_t i = 0; i < a.size(); ++i) a16[i] = float_to_bf16(a[i]);
    OffsetDeviceBuffer<bf16> d_a(a16, offset), d_da(zero16, offset);
    EXPECT_EQ(vector_path<bf16>(shape.channels, {d_a.get(), d_da.get()}), offset == 0);
    cuda::energy_forward(shape, d_a.get(), d_e.get(), nullptr);
    cuda::energy_backward(shape, d_a.get(), d_de.get(), d_da.get(), nullptr);
    EXPECT_LT(relative_error(d_e.download(), e_cpu), 1e-6);  // A is exact in bf16
    const std::vector<bf16> da16 = d_da.download();
    std::vector<float> da(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) da[i] = bf16_to_float(da16[i]);
    EXPECT_LT(relative_error(da, da_cpu), 4e-3);  // stored in bf16: 2^-9 relative
  }
}

INSTANTIATE_TEST_SUITE_P(Alignments, EnergyGpu, testing::Values(0, 1),
                         [](const testing::TestParamInfo<int>& info) {
                           return std::string(info.param ? "misaligned" : "aligned");
                         });

}  // namespace
}  // namespace sombrero::kernels
