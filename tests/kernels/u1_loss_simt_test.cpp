// The hand-written energy and fused U(1) loss kernels (energy.cu, u1_loss.cu) executed on
// the CPU through runtime/simt, against the CPU backend (itself checked against the double
// reference in u1_loss_cpu_test.cpp), under every fiber schedule. Each kernel has a 16-byte
// vector path (C a multiple of 4 f32 / 8 bf16, aligned rows) and a scalar one; every case
// states which path each element type takes, and the cases cover both for f32 and bf16.
// The fused loss has two kernels (streaming, and resident: A kept in shared memory between
// its passes); every case runs both.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

#include "kernels/common/vector16.h"
#include "kernels/energy/energy.h"
#include "kernels/u1loss/class_angles.h"
#include "kernels/u1loss/u1_loss.h"
#include "runtime/error.h"
#include "runtime/simt/schedule.h"
#include "tests/support/test_values.h"

namespace sombrero::kernels {
namespace {

using test::relative_error;

enum class Path { scalar, vector };

// Elements by which the activation (and dactivation) views are shifted from a 16-byte
// aligned allocation: 0 keeps them aligned, 1 misaligns them.
struct Offsets {
  int activation = 0, dactivation = 0;
};

// Storage for `n` T (filled with `fill`), viewed from `offset` elements past its first
// 16-byte aligned element.
template <typename T>
struct OffsetBuffer {
  std::vector<T> storage;
  T* data;
  OffsetBuffer(std::size_t n, int offset, T fill) : storage(n + 16 / sizeof(T) + offset, fill) {
    std::size_t first = 0;
    while (reinterpret_cast<std::uintptr_t>(storage.data() + first) % 16 != 0) ++first;
    data = storage.data() + first + offset;
  }
};

// The path the kernels take for rows of `channels` T at these pointers.
template <typename T>
Path path_for(int channels, std::initializer_list<const void*> pointers) {
  return rows_split_into_16_byte_vectors(channels, sizeof(T), pointers) ? Path::vector
                                                                        : Path::scalar;
}

struct Inputs {
  U1LossShape shape;
  U1LossConfig config;
  std::vector<float> logits, activation, angles;
  std::vector<std::int32_t> labels;
};

// Activations rounded to bf16 so the f32 and bf16 kernels see the same values.
Inputs make_inputs(U1LossShape shape, U1LossConfig config, unsigned seed) {
  Inputs in{shape, config, {}, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.5f);
  for (int i = 0; i < shape.batch * shape.classes; ++i) in.logits.push_back(normal(rng));
  for (int b = 0; b < shape.batch; ++b) in.labels.push_back(int(rng() % shape.classes));
  const std::size_t elements =
      std::size_t(shape.batch) * shape.height * shape.width * shape.channels;
  for (std::size_t i = 0; i < elements; ++i)
    in.activation.push_back(rng() % 4 == 0 ? 0.0f : bf16_to_float(float_to_bf16(uniform(rng))));
  in.angles = class_angle_table(ClassAngles::random, shape.classes, seed);
  return in;
}

struct Outputs {
  std::vector<float> dlogits, dactivation, z, sample_losses;
  std::vector<std::int32_t> prediction;
  U1LossResult result;
  Path path = Path::scalar;  // the kernel's, for these pointers
};

template <typename Activation>
Outputs run(const Inputs& in, bool use_simt, Offsets offsets = {},
            U1LossKernel kernel = U1LossKernel::automatic, const U1ResidentTuning& tuning = {}) {
  const std::size_t elements = in.activation.size();
  OffsetBuffer<Activation> activation_buffer(elements, offsets.activation, Activation{}),
      dactivation_buffer(elements, offsets.dactivation, Activation{});
  Activation* activation = activation_buffer.data;
  Activation* dactivation = dactivation_buffer.data;
  for (std::size_t i = 0; i < elements; ++i) {
    if constexpr (std::is_same_v<Activation, float>) {
      activation[i] = in.activation[i];
      dactivation[i] = 0.125f;  // accumulated onto
    } else {
      activation[i] = float_to_bf16(in.activation[i]);
      dactivation[i] = float_to_bf16(0.125f);
    }
  }
  Outputs out;
  out.dlogits.assign(in.logits.size(), NAN);
  out.z.assign(2 * in.shape.batch, NAN);
  out.sample_losses.assign(2 * in.shape.batch, NAN);
  out.prediction.assign(in.shape.batch, -1);
  U1LossArgsOf<Activation> args;
  args.logits = in.logits.data();
  args.labels = in.labels.data();
  args.activation = activation;
  args.class_angles = in.angles.data();
  args.dlogits = out.dlogits.data();
  args.dactivation = dactivation;
  args.z = out.z.data();
  args.angle_prediction = out.prediction.data();
  args.sample_losses = out.sample_losses.data();
  if (use_simt) {
    simt::u1_loss_forward_backward(in.shape, in.config, args, nullptr, kernel, tuning);
    out.result = mean_of_sample_losses(out.sample_losses.data(), in.shape.batch, in.config.weight);
  } else {
    if constexpr (std::is_same_v<Activation, float>)
      out.result = cpu::u1_loss_forward_backward(in.shape, in.config, args);
  }
  out.path = path_for<Activation>(in.shape.channels, {activation, dactivation});
  for (std::size_t i = 0; i < elements; ++i) {
    if constexpr (std::is_same_v<Activation, float>)
      out.dactivation.push_back(dactivation[i]);
    else
      out.dactivation.push_back(bf16_to_float(dactivation[i]));
  }
  return out;
}

void expect_close_to_cpu(const Outputs& got, const Outputs& cpu, double gradient_tolerance) {
  // f32 sums in a different order than the CPU's double sums: ~1e-6 relative per value.
  EXPECT_NEAR(got.result.ce, cpu.result.ce, 1e-5 * std::abs(cpu.result.ce) + 1e-6);
  EXPECT_NEAR(got.result.u1, cpu.result.u1, 1e-5);
  for (std::size_t i = 0; i < cpu.dlogits.size(); ++i)
    EXPECT_NEAR(got.dlogits[i], cpu.dlogits[i], 1e-6 + 1e-5 * std::abs(cpu.dlogits[i])) << i;
  for (std::size_t i = 0; i < cpu.z.size(); ++i) EXPECT_NEAR(got.z[i], cpu.z[i], 1e-5) << i;
  EXPECT_EQ(got.prediction, cpu.prediction);
  EXPECT_LT(relative_error(got.dactivation, cpu.dactivation), gradient_tolerance);
}

struct Case {
  const char* name;
  U1LossShape shape;
  U1LossConfig config;
  Path f32_path, bf16_path;  // what the case is there to exercise
  Offsets offsets = {};
};

class U1LossSimt : public testing::TestWithParam<Case> {};

constexpr U1LossKernel kKernels[] = {U1LossKernel::streaming, U1LossKernel::resident,
                                     U1LossKernel::resident_pair};

// Whether the resident kernel (one block per sample, or a pair) holds a sample of `shape` in
// the SIMT executor's (sm_90's) shared memory; where it does not, asking for it must throw.
bool resident_fits(const U1LossShape& shape, std::size_t element_bytes,
                   U1LossKernel kernel = U1LossKernel::resident) {
  const int blocks = kernel == U1LossKernel::resident_pair ? 2 : 1;
  return u1_loss_resident_shared_bytes(shape, element_bytes, blocks) <= 227 * 1024;
}

TEST_P(U1LossSimt, F32KernelsMatchCpuBackendUnderEverySchedule) {
  const Case c = GetParam();
  const Inputs in = make_inputs(c.shape, c.config, 3);
  const Outputs cpu = run<float>(in, false);
  for (U1LossKernel kernel : kKernels) {
    SCOPED_TRACE(to_string(kernel));
    if (kernel != U1LossKernel::streaming && !resident_fits(c.shape, sizeof(float), kernel)) {
      EXPECT_THROW(run<float>(in, true, c.offsets, kernel), Error);
      continue;
    }
    for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
      const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
      SCOPED_TRACE(sombrero::simt::test_schedule(s).name());
      const Outputs got = run<float>(in, true, c.offsets, kernel);
      EXPECT_EQ(got.path, c.f32_path);
      // f32 gradients: terms of size <= 1 summed in f32, 1e-5 norm-wise.
      expect_close_to_cpu(got, cpu, 1e-5);
    }
  }
}

TEST_P(U1LossSimt, Bf16KernelsMatchCpuBackendWithinBf16Rounding) {
  const Case c = GetParam();
  const Inputs in = make_inputs(c.shape, c.config, 4);
  const Outputs cpu = run<float>(in, false);
  for (U1LossKernel kernel : kKernels) {
    SCOPED_TRACE(to_string(kernel));
    ASSERT_TRUE(resident_fits(c.shape, sizeof(bf16)));  // every case's bf16 sample does
    const Outputs got = run<bf16>(in, true, c.offsets, kernel);
    EXPECT_EQ(got.path, c.bf16_path);
    // dA is stored in bf16 (8 bits of mantissa): relative rounding 2^-9 per element.
    expect_close_to_cpu(got, cpu, 1e-2);
  }
}

constexpr Path S = Path::scalar, V = Path::vector;

const Case kCases[] = {
    {"joint", {3, 5, 4, 3, 6}, {0.7f, 1e-3f, U1Space::joint, 0.0f}, S, S},
    {"image_smoothed", {2, 7, 5, 5, 9}, {0.5f, 1e-3f, U1Space::image, 0.1f}, S, S},
    {"feature", {2, 4, 3, 4, 33}, {1.0f, 1e-3f, U1Space::feature, 0.0f}, S, S},
    {"one_site", {2, 3, 1, 1, 16}, {0.3f, 1e-3f, U1Space::joint, 0.0f}, V, V},
    {"one_class", {2, 1, 2, 2, 8}, {0.3f, 1e-3f, U1Space::joint, 0.1f}, V, V},
    {"wide_untabled", {1, 3, 2, 1, 4100}, {0.3f, 1e-3f, U1Space::joint, 0.0f}, V, S},  // N > table
    {"wide_untabled_vector", {1, 3, 2, 1, 4104}, {0.3f, 1e-3f, U1Space::joint, 0.0f}, V, V},
    {"many_classes", {2, 1000, 2, 2, 8}, {0.2f, 1e-3f, U1Space::joint, 0.1f}, V, V},
    {"baseline_with_readout", {2, 6, 3, 3, 5}, {0.0f, 1e-3f, U1Space::joint, 0.0f}, S, S},
    {"rgb", {2, 4, 7, 7, 3}, {0.5f, 1e-3f, U1Space::joint, 0.0f}, S, S},
    {"twelve_channels", {2, 4, 7, 7, 12}, {0.5f, 1e-3f, U1Space::joint, 0.0f}, V, S},
    {"bottleneck_64", {2, 10, 7, 7, 64}, {0.5f, 1e-3f, U1Space::joint, 0.1f}, V, V},
    {"resnet50_bottleneck", {2, 10, 7, 7, 2048}, {0.1f, 1e-3f, U1Space::joint, 0.1f}, V, V},
    {"readout_only_vector", {2, 6, 7, 7, 64}, {0.0f, 1e-3f, U1Space::joint, 0.0f}, V, V},
    {"misaligned_activation", {2, 10, 7, 7, 64}, {0.5f, 1e-3f, U1Space::joint, 0.0f}, S, S, {1, 0}},
    {"misaligned_dactivation",
     {2, 10, 7, 7, 64},
     {0.5f, 1e-3f, U1Space::feature, 0.0f},
     S,
     S,
     {0, 1}},
};

INSTANTIATE_TEST_SUITE_P(Shapes, U1LossSimt, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(U1LossSimtEdges, AllZeroActivationIsFinite) {
  Inputs in = make_inputs({2, 10, 7, 7, 64}, {1.0f, 1e-3f, U1Space::joint, 0.0f}, 5);
  std::fill(in.activation.begin(), in.activation.end(), 0.0f);
  const Outputs out = run<float>(in, true);
  EXPECT_FLOAT_EQ(out.result.u1, 1.0);
  for (float g : out.dactivation) ASSERT_TRUE(std::isfinite(g));
}

// The angle readout is a block-wide argmin (each thread scans every 256th class, streaming,
// or 512th, resident): equal distances in different threads and warps must still go to the
// lowest class, as the CPU backend's serial scan gives.
TEST(U1LossSimtEdges, ReadoutTiesGoToTheLowestClassAcrossThreads) {
  Inputs in = make_inputs({2, 1000, 3, 3, 16}, {0.5f, 1e-3f, U1Space::joint, 0.0f}, 9);
  const Outputs first = run<float>(in, true);
  for (int b = 0; b < 2; ++b) {
    const float angle = std::atan2(first.z[2 * b + 1], first.z[2 * b]);
    for (int round = 0; round < 2; ++round) {
      // Every class opposite the sample's angle, except three equal nearest ones (round 0)
      // or all of them equal (round 1).
      std::fill(in.angles.begin(), in.angles.end(),
                round == 0 ? angle + float(std::numbers::pi) : angle + 0.25f);
      if (round == 0) in.angles[700] = in.angles[999] = in.angles[300] = angle + 0.125f;
      const Outputs cpu = run<float>(in, false);
      for (U1LossKernel kernel : kKernels) {
        const Outputs got = run<float>(in, true, {}, kernel);
        EXPECT_EQ(got.prediction[std::size_t(b)], round == 0 ? 300 : 0)
            << "sample " << b << ", " << to_string(kernel);
        EXPECT_EQ(got.prediction, cpu.prediction) << to_string(kernel);
      }
    }
  }
}

TEST(U1LossSimtEdges, OutOfRangeLabelGivesNaNLossNotACrash) {
  Inputs in = make_inputs({2, 3, 2, 2, 4}, {0.5f, 1e-3f, U1Space::joint, 0.0f}, 6);
  in.labels[1] = 7;
  const Outputs out = run<float>(in, true);
  EXPECT_TRUE(std::isnan(out.sample_losses[2]));
  EXPECT_FALSE(std::isnan(out.sample_losses[0]));
}

// The resident kernel is persistent: the SIMT executor gives it 2 blocks (concurrent_blocks)
// or 2 pairs (concurrent_clusters), so with 5 or 7 samples each block sweeps pass 2 of one
// sample together with pass 1 of the next, reusing the same shared memory, 2 to 4 times.
// The 7x7x2048 samples give each thread 25 vectors (a pair's: 13): 7 batches of 4 in the
// combined sweeps, 5 of 6 in a block's first and last (ResNet-50's bottleneck). In a pair
// the 3x5x6 sample's 90 elements split 45 / 45 on the scalar path, the 3x5x64 sample's 240
// vectors of f32 (120 of bf16) in halves.
TEST(U1LossSimtResident, BlocksLoopingOverSamplesMatchTheCpuBackend) {
  const std::pair<U1LossShape, Path> cases[] = {{{7, 10, 3, 5, 64}, Path::vector},
                                                {{7, 10, 3, 5, 6}, Path::scalar},
                                                {{5, 10, 7, 7, 2048}, Path::vector}};
  for (const auto& [shape, path] : cases) {
    for (const U1LossKernel kernel : {U1LossKernel::resident, U1LossKernel::resident_pair}) {
      SCOPED_TRACE(testing::Message() << shape.height << "x" << shape.width << "x" << shape.channels
                                      << ", " << to_string(kernel));
      const Inputs in = make_inputs(shape, {0.5f, 1e-3f, U1Space::joint, 0.1f}, 12);
      const Outputs cpu = run<float>(in, false);
      if (resident_fits(shape, sizeof(float), kernel)) {  // 7x7x2048 f32 needs the pair
        const Outputs got = run<float>(in, true, {}, kernel);
        ASSERT_EQ(got.path, path);
        expect_close_to_cpu(got, cpu, 1e-5);
      }
      const Outputs got16 = run<bf16>(in, true, {}, kernel);
      ASSERT_EQ(got16.path, path);
      expect_close_to_cpu(got16, cpu, 1e-2);
    }
  }
}

// The resident kernels' L2 hints are hints: with every setting, every output is bit for bit
// the default's. The 7x7x2048 samples are long enough for the in-sweep request of the next
// batch (over 2048 vectors per block) and the head requests (32 and 128 KB: past the end of
// a 3x5x64 sample); the SIMT prefetch reads the byte it names, so a request outside the
// tensors fails the AddressSanitizer run (tools/sanitize.sh).
TEST(U1LossSimtResident, L2HintsNeverChangeResults) {
  const U1ResidentTuning tunings[] = {
      {0, true}, {32 * 1024, true}, {128 * 1024, false}, {0, true, true}};
  for (const U1LossShape shape : {U1LossShape{5, 10, 7, 7, 2048}, U1LossShape{5, 10, 3, 5, 64}}) {
    const Inputs in = make_inputs(shape, {0.5f, 1e-3f, U1Space::joint, 0.1f}, 16);
    for (const U1LossKernel kernel : {U1LossKernel::resident, U1LossKernel::resident_pair}) {
      const bool f32_fits = resident_fits(shape, sizeof(float), kernel);
      const Outputs reference = run<bf16>(in, true, {}, kernel);
      const Outputs reference32 = f32_fits ? run<float>(in, true, {}, kernel) : Outputs{};
      for (const U1ResidentTuning& tuning : tunings) {
        SCOPED_TRACE(testing::Message()
                     << shape.height << "x" << shape.width << "x" << shape.channels << ", "
                     << to_string(kernel) << ", heads " << tuning.head_prefetch_bytes
                     << ", next batch " << tuning.sweep_prefetch << ", bulk first sweep "
                     << tuning.bulk_first_sweep);
        const Outputs got = run<bf16>(in, true, {}, kernel, tuning);
        EXPECT_EQ(got.dactivation, reference.dactivation);
        EXPECT_EQ(got.dlogits, reference.dlogits);
        EXPECT_EQ(got.sample_losses, reference.sample_losses);
        EXPECT_EQ(got.z, reference.z);
        EXPECT_EQ(got.prediction, reference.prediction);
        if (!f32_fits) continue;
        const Outputs got32 = run<float>(in, true, {}, kernel, tuning);
        EXPECT_EQ(got32.dactivation, reference32.dactivation);
        EXPECT_EQ(got32.sample_losses, reference32.sample_losses);
      }
    }
  }
}

// Bulk copies (one per 8 KB row of a block's share, an mbarrier per row) for the first sweep
// (U1ResidentTuning::bulk_first_sweep) or for every sample (bulk_next_samples: rows copied
// as the update frees them, a barrier per 4 rows, moments a chunk behind) read the same
// values in the same order as the threads' loads: every output is bit for bit the
// default's, under every schedule, with a share of one partial row (3x5x64: 240 f32
// vectors, 120 bf16; a pair's halves), none at all (a pair's second block of a 1x1x4 f32
// sample), 25 rows (7x7x2048 bf16: 12544 vectors, 7 chunks) and a pair's 13; with the label
// of a block's first or second sample out of range (its rows are still copied and waited
// for before the slots are written again; an invalid sample's successor is copied after a
// barrier). The SIMT executor runs 2 blocks (pairs), so 7 samples give each 3 to 4 landings
// (both parities of the barriers). Where the rows are not 16-byte vectors (3x5x6) the
// request falls back to the threads' loads.
TEST(U1LossSimtResident, BulkCopiesGiveTheSameBits) {
  U1ResidentTuning bulk_first;
  bulk_first.bulk_first_sweep = true;
  U1ResidentTuning bulk_every;
  bulk_every.bulk_next_samples = true;
  U1ResidentTuning bulk_every_and_next_batch = bulk_every;
  bulk_every_and_next_batch.sweep_prefetch = true;
  // Bit patterns, so that the NaN outputs of a bad label compare too.
  const auto bits = [](const std::vector<float>& values) {
    std::vector<std::uint32_t> out;
    for (const float v : values) out.push_back(std::bit_cast<std::uint32_t>(v));
    return out;
  };
  const auto expect_same = [&](const Outputs& got, const Outputs& reference) {
    EXPECT_EQ(bits(got.dactivation), bits(reference.dactivation));
    EXPECT_EQ(bits(got.dlogits), bits(reference.dlogits));
    EXPECT_EQ(bits(got.sample_losses), bits(reference.sample_losses));
    EXPECT_EQ(bits(got.z), bits(reference.z));
    EXPECT_EQ(got.prediction, reference.prediction);
  };
  for (const U1LossShape shape :
       {U1LossShape{7, 10, 3, 5, 64}, U1LossShape{3, 5, 1, 1, 4}, U1LossShape{5, 10, 3, 5, 6}}) {
    const Inputs valid = make_inputs(shape, {0.5f, 1e-3f, U1Space::joint, 0.1f}, 17);
    // none, block (pair) 0's first sample, block 1's, block 0's second
    for (const int bad : {-1, 0, 1, 2}) {
      Inputs in = valid;
      if (bad >= 0) in.labels[std::size_t(bad)] = shape.classes;
      for (const U1LossKernel kernel : {U1LossKernel::resident, U1LossKernel::resident_pair}) {
        const Outputs reference = run<float>(in, true, {}, kernel);
        const Outputs reference16 = run<bf16>(in, true, {}, kernel);
        for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
          const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
          SCOPED_TRACE(testing::Message()
                       << shape.height << "x" << shape.width << "x" << shape.channels << ", "
                       << to_string(kernel) << ", bad label " << bad << ", "
                       << sombrero::simt::test_schedule(s).name());
          for (const U1ResidentTuning& bulk : {bulk_first, bulk_every}) {
            SCOPED_TRACE(bulk.bulk_next_samples ? "every sample" : "first sweep");
            expect_same(run<float>(in, true, {}, kernel, bulk), reference);
            expect_same(run<bf16>(in, true, {}, kernel, bulk), reference16);
          }
        }
      }
    }
  }
  const U1LossShape resnet50{5, 10, 7, 7, 2048};
  const Inputs in = make_inputs(resnet50, {0.5f, 1e-3f, U1Space::joint, 0.1f}, 18);
  for (const U1LossKernel kernel : {U1LossKernel::resident, U1LossKernel::resident_pair}) {
    SCOPED_TRACE(to_string(kernel));
    const Outputs reference16 = run<bf16>(in, true, {}, kernel);
    for (const U1ResidentTuning& bulk : {bulk_first, bulk_every, bulk_every_and_next_batch})
      expect_same(run<bf16>(in, true, {}, kernel, bulk), reference16);
  }
  const Outputs reference32 = run<float>(in, true, {}, U1LossKernel::resident_pair);
  for (const U1ResidentTuning& bulk : {bulk_first, bulk_every})
    expect_same(run<float>(in, true, {}, U1LossKernel::resident_pair, bulk), reference32);
}

// A pair whose sample has fewer vectors than two blocks have threads, or than two: the
// second block's share may be a handful of vectors, or none (1x1x4 f32 is one vector).
TEST(U1LossSimtResident, APairSplitsTinySamplesToo) {
  for (const U1LossShape shape :
       {U1LossShape{3, 5, 1, 1, 4}, U1LossShape{3, 5, 1, 1, 3}, U1LossShape{3, 5, 2, 1, 8}}) {
    SCOPED_TRACE(testing::Message() << shape.height << "x" << shape.width << "x" << shape.channels);
    const Inputs in = make_inputs(shape, {0.5f, 1e-3f, U1Space::joint, 0.0f}, 14);
    const Outputs cpu = run<float>(in, false);
    for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
      const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
      expect_close_to_cpu(run<float>(in, true, {}, U1LossKernel::resident_pair), cpu, 1e-5);
    }
  }
}

// A sample with a label out of range in the middle of a block's samples: its outputs are NaN
// and its dA untouched; every other sample's outputs are bit for bit those of a run where
// the label was valid (its block goes on to the next sample without pass 2).
TEST(U1LossSimtResident, AnInvalidLabelSkipsOnlyItsSample) {
  const U1LossShape shape{7, 10, 3, 5, 64};
  Inputs in = make_inputs(shape, {0.5f, 1e-3f, U1Space::joint, 0.0f}, 13);
  for (const U1LossKernel kernel : {U1LossKernel::resident, U1LossKernel::resident_pair}) {
    SCOPED_TRACE(to_string(kernel));
    const Outputs valid = run<float>(in, true, {}, kernel);
    for (const int bad : {2, 3, 6}) {  // the first, middle and last sample of its block (pair)
      Inputs broken = in;
      broken.labels[std::size_t(bad)] = -1;
      const Outputs got = run<float>(broken, true, {}, kernel);
      const std::size_t site_elements = std::size_t(shape.height) * shape.width * shape.channels;
      for (int b = 0; b < shape.batch; ++b) {
        SCOPED_TRACE(testing::Message() << "sample " << b << " of 7, label of " << bad << " bad");
        const std::size_t s = std::size_t(b);
        const auto dA = [&](const Outputs& o) {
          return std::vector<float>(o.dactivation.begin() + long(s * site_elements),
                                    o.dactivation.begin() + long((s + 1) * site_elements));
        };
        if (b == bad) {
          EXPECT_TRUE(std::isnan(got.sample_losses[2 * s]));
          EXPECT_TRUE(std::isnan(got.sample_losses[2 * s + 1]));
          EXPECT_TRUE(std::isnan(got.dlogits[s * std::size_t(shape.classes)]));
          EXPECT_EQ(got.prediction[s], -1);
          EXPECT_THAT(dA(got), testing::Each(0.125f));  // never written
        } else {
          EXPECT_EQ(got.sample_losses[2 * s], valid.sample_losses[2 * s]);
          EXPECT_EQ(got.sample_losses[2 * s + 1], valid.sample_losses[2 * s + 1]);
          EXPECT_EQ(got.z[2 * s], valid.z[2 * s]);
          EXPECT_EQ(got.prediction[s], valid.prediction[s]);
          EXPECT_EQ(dA(got), dA(valid));
        }
      }
    }
  }
}

// The resident kernel's shared memory: 16 warps x (2 x 16 + 8) floats of scratch (the
// double-buffered totals and the readout's slots) and 2 x 16 floats a pair exchanges, 32
// mbarriers for a bulk-copied first sweep, cos and sin tables of N floats, the block's share
// of the sample's activation (a pair's: half, rounded up to 8 elements).
TEST(U1LossKernelChoice, ResidentNeedsTheSampleInSharedMemory) {
  const U1LossShape resnet50{256, 1000, 7, 7, 2048};
  EXPECT_EQ(u1_loss_resident_shared_bytes(resnet50, 2), 2688u + 256u + 16384u + 200704u);
  EXPECT_EQ(u1_loss_resident_shared_bytes(resnet50, 4), 2688u + 256u + 16384u + 401408u);
  EXPECT_EQ(u1_loss_resident_shared_bytes(resnet50, 4, 2), 2688u + 256u + 16384u + 200704u);
  EXPECT_EQ(u1_loss_resident_shared_bytes({1, 3, 3, 1, 3}, 4, 2), 2688u + 256u + 24u + 8u * 4u);
  EXPECT_THROW(u1_loss_resident_shared_bytes(resnet50, 4, 3), Error);
  // Wider than the table: no table.
  EXPECT_EQ(u1_loss_resident_shared_bytes({1, 3, 2, 1, 4100}, 4), 2688u + 256u + 2u * 4100u * 4u);
  const std::size_t sm90 = 227 * 1024;
  EXPECT_EQ(resolve_u1_loss_kernel(U1LossKernel::automatic, resnet50, 2, sm90, true),
            U1LossKernel::resident);
  EXPECT_EQ(resolve_u1_loss_kernel(U1LossKernel::automatic, resnet50, 4, sm90, true),
            U1LossKernel::resident_pair);
  EXPECT_EQ(resolve_u1_loss_kernel(U1LossKernel::automatic, resnet50, 4, sm90, false),
            U1LossKernel::streaming);
  EXPECT_EQ(resolve_u1_loss_kernel(U1LossKernel::automatic, resnet50, 2, 163 * 1024, false),
            U1LossKernel::streaming);  // an sm_80 part: no clusters
  EXPECT_EQ(resolve_u1_loss_kernel(U1LossKernel::automatic, resnet50, 2, 99 * 1024, false),
            U1LossKernel::streaming);  // an sm_86 / sm_89 part
  EXPECT_EQ(resolve_u1_loss_kernel(U1LossKernel::streaming, resnet50, 2, sm90, true),
            U1LossKernel::streaming);
  EXPECT_EQ(resolve_u1_loss_kernel(U1LossKernel::resident_pair, resnet50, 2, sm90, true),
            U1LossKernel::resident_pair);
  try {
    resolve_u1_loss_kernel(U1LossKernel::resident, resnet50, 4, sm90, true);
    FAIL() << "resident kernel accepted a sample that does not fit";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("needs 420736 bytes of shared memory"));
    EXPECT_THAT(e.what(), testing::HasSubstr("allows 232448"));
    EXPECT_THAT(e.what(), testing::HasSubstr("resident_pair fits: use it"));
  }
  // Where the pair would not fit (or launch) either, the error does not suggest it.
  for (const bool clusters : {true, false}) {
    try {
      resolve_u1_loss_kernel(U1LossKernel::resident, {1, 3, 14, 14, 2048}, 4, sm90, clusters);
      FAIL() << "resident kernel accepted a sample that does not fit";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), testing::HasSubstr("(use the streaming kernel)"));
      EXPECT_THAT(e.what(), testing::Not(testing::HasSubstr("resident_pair")));
    }
  }
  try {
    resolve_u1_loss_kernel(U1LossKernel::resident, resnet50, 4, sm90, false);
    FAIL() << "resident kernel accepted a sample that does not fit";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), testing::Not(testing::HasSubstr("resident_pair")));
  }
  try {
    resolve_u1_loss_kernel(U1LossKernel::resident_pair, resnet50, 4, 163 * 1024, false);
    FAIL() << "resident_pair accepted without thread-block clusters";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("thread-block cluster"));
  }
  try {
    resolve_u1_loss_kernel(U1LossKernel::resident_pair, {1, 3, 14, 14, 2048}, 4, sm90, true);
    FAIL() << "resident_pair accepted a sample whose halves do not fit";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("the resident_pair kernel needs 822144 bytes"));
  }
}

TEST(U1LossKernelChoice, ResidentRequestThatDoesNotFitIsAnErrorNotACrash) {
  const Inputs in = make_inputs({1, 4, 7, 7, 2048}, {0.1f, 1e-3f, U1Space::joint, 0.0f}, 7);
  EXPECT_THROW(run<float>(in, true, {}, U1LossKernel::resident), Error);
  // automatic runs it on a pair of blocks instead (the SIMT executor launches clusters), and
  // matches the CPU backend.
  expect_close_to_cpu(run<float>(in, true), run<float>(in, false), 1e-5);
}

struct EnergyCase {
  const char* name;
  EnergyShape shape;
  Path f32_path, bf16_path;
  int offset = 0;  // elements by which A and dA are shifted from aligned storage
};

class EnergySimt : public testing::TestWithParam<EnergyCase> {};

TEST_P(EnergySimt, ForwardAndBackwardMatchCpuBackendInF32AndBf16) {
  const EnergyCase c = GetParam();
  const EnergyShape shape = c.shape;
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<float> a(shape.sites() * shape.channels), de(shape.sites());
  for (float& v : a) v = bf16_to_float(float_to_bf16(uniform(rng)));
  for (float& v : de) v = uniform(rng);
  std::vector<float> e_cpu(shape.sites()), da_cpu(a.size(), 0.5f);
  cpu::energy_forward(shape, a.data(), e_cpu.data());
  cpu::energy_backward(shape, a.data(), de.data(), da_cpu.data());
  // f32 sums of C squares against the CPU's double sums: relative error ~ sqrt(C) * 6e-8.
  for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
    const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
    SCOPED_TRACE(sombrero::simt::test_schedule(s).name());
    OffsetBuffer<float> a32(a.size(), c.offset, 0.0f), da(a.size(), c.offset, 0.5f);
    std::copy(a.begin(), a.end(), a32.data);
    EXPECT_EQ(path_for<float>(shape.channels, {a32.data, da.data}), c.f32_path);
    std::vector<float> e(shape.sites(), NAN);
    simt::energy_forward(shape, a32.data, e.data(), nullptr);
    simt::energy_backward(shape, a32.data, de.data(), da.data, nullptr);
    for (std::size_t i = 0; i < e.size(); ++i) EXPECT_NEAR(e[i], e_cpu[i], 1e-5 * e_cpu[i] + 1e-6);
    for (std::size_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(da.data[i], da_cpu[i], 1e-5 + 1e-6 * std::abs(da_cpu[i]));
  }
  OffsetBuffer<bf16> a16(a.size(), c.offset, bf16{}), da16(a.size(), c.offset, float_to_bf16(0.5f));
  for (std::size_t i = 0; i < a.size(); ++i) a16.data[i] = float_to_bf16(a[i]);
  EXPECT_EQ(path_for<bf16>(shape.channels, {a16.data, da16.data}), c.bf16_path);
  std::vector<float> e16(shape.sites());
  simt::energy_forward(shape, a16.data, e16.data(), nullptr);
  simt::energy_backward(shape, a16.data, de.data(), da16.data, nullptr);
  for (std::size_t i = 0; i < e16.size(); ++i)
    EXPECT_NEAR(e16[i], e_cpu[i], 1e-5 * e_cpu[i] + 1e-6);
  for (std::size_t i = 0; i < a.size(); ++i)  // stored in bf16: 2^-8 relative
    EXPECT_NEAR(bf16_to_float(da16.data[i]), da_cpu[i], 4e-3 * std::abs(da_cpu[i]) + 1e-6);
}

const EnergyCase kEnergyCases[] = {
    {"seventy", {2, 3, 5, 70}, S, S},
    {"rgb", {2, 7, 7, 3}, S, S},
    {"twelve", {2, 3, 3, 12}, V, S},
    {"bottleneck_64", {2, 7, 7, 64}, V, V},
    {"resnet50_bottleneck", {1, 7, 7, 2048}, V, V},
    {"misaligned", {2, 7, 7, 64}, S, S, 1},
    // 256 threads per site (1024 f32 vectors; 1030 scalars, the last accesses partial).
    {"wide", {2, 2, 2, 4096}, V, V},
    {"wide_odd", {1, 2, 3, 1030}, S, S},
};

INSTANTIATE_TEST_SUITE_P(Shapes, EnergySimt, testing::ValuesIn(kEnergyCases),
                         [](const testing::TestParamInfo<EnergyCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace sombrero::kernels
