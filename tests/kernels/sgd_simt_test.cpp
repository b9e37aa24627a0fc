// The multi-tensor SGD kernel (kernels/optim/sgd.cu) executed on the CPU (runtime/simt)
// against the CPU backend, under every schedule: several tensors of odd sizes (one spanning
// several chunks), per-tensor weight decay, momentum with and without Nesterov, and no
// momentum. The arithmetic is the same expressions in both, so results agree bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/optim/sgd.h"
#include "runtime/simt/schedule.h"

namespace sombrero::kernels {
namespace {

struct Tensors {
  std::vector<std::vector<float>> param, grad, buf;
};

Tensors make_tensors(unsigned seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensors t;
  for (const std::int64_t n : {std::int64_t(1), std::int64_t(257), kSgdChunkElements * 2 + 5}) {
    for (auto* list : {&t.param, &t.grad, &t.buf}) {
      list->emplace_back(std::size_t(n));
      for (float& v : list->back()) v = normal(random);
    }
  }
  return t;
}

const float kDecay[3] = {0.0f, 1e-4f, 5e-2f};

TEST(SgdSimt, MultiTensorUpdateEqualsTheCpuBackendUnderEverySchedule) {
  for (const SgdStep step :
       {SgdStep{0.1f, 0.9f, 0.0f, true, 1.0f}, SgdStep{0.05f, 0.9f, 0.0f, false, 0.5f},
        SgdStep{0.2f, 0.0f, 0.0f, false, 1.0f}}) {
    Tensors expected = make_tensors(7);
    for (std::size_t t = 0; t < 3; ++t) {
      SgdStep cpu_step = step;
      cpu_step.weight_decay = kDecay[t];
      cpu::sgd_update(std::int64_t(expected.param[t].size()), expected.param[t].data(),
                      expected.grad[t].data(), expected.buf[t].data(), cpu_step);
    }
    for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
      const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
      Tensors actual = make_tensors(7);
      std::vector<SgdChunk> chunks;
      for (std::size_t t = 0; t < 3; ++t)
        append_sgd_chunks(chunks, actual.param[t].data(), actual.grad[t].data(),
                          step.momentum > 0 ? actual.buf[t].data() : nullptr, kDecay[t],
                          std::int64_t(actual.param[t].size()));
      ASSERT_EQ(chunks.size(), 5u);  // 1 + 1 + 3 chunks
      simt::sgd_update(chunks.data(), int(chunks.size()), step, nullptr);
      for (std::size_t t = 0; t < 3; ++t) {
        EXPECT_EQ(actual.param[t], expected.param[t]) << "tensor " << t << ", schedule " << s;
        EXPECT_EQ(actual.buf[t], expected.buf[t]) << "tensor " << t << ", schedule " << s;
      }
    }
  }
}

// Arrays off the 16-byte alignment (a gradient packed into a communication bucket at an odd
// offset) take the element path; aligned ones the vector path with an element tail. Both equal
// the CPU backend bit for bit.
TEST(SgdSimt, AlignedAndMisalignedChunksEqualTheCpuBackend) {
  const SgdStep step{0.1f, 0.9f, 0.0f, true, 1.0f};
  for (const std::size_t offset : {std::size_t(0), std::size_t(1)}) {
    Tensors expected = make_tensors(11), actual = make_tensors(11);
    const std::int64_t n = std::int64_t(expected.param[2].size()) - 1;  // 2 * 65536 + 4
    SgdStep cpu_step = step;
    cpu_step.weight_decay = 1e-4f;
    cpu::sgd_update(n, expected.param[2].data() + offset, expected.grad[2].data() + offset,
                    expected.buf[2].data() + offset, cpu_step);
    std::vector<SgdChunk> chunks;
    append_sgd_chunks(chunks, actual.param[2].data() + offset, actual.grad[2].data() + offset,
                      actual.buf[2].data() + offset, 1e-4f, n);
    simt::sgd_update(chunks.data(), int(chunks.size()), step, nullptr);
    EXPECT_EQ(actual.param[2], expected.param[2]) << "offset " << offset;
    EXPECT_EQ(actual.buf[2], expected.buf[2]) << "offset " << offset;
  }
}

// The gradient norm over the chunk table: the sum of squares of every gradient element.
// Small integers make every partial exact (each chunk's sum < 2^24, the total in double), so
// the result equals the exact sum; random values agree with a double reference within the
// f32 summation bound of a chunk (256 strided terms per thread, then an 8-level tree:
// 264 u sum g^2), and every schedule gives the same bits.
TEST(SgdSimt, GradientSumOfSquaresOverTheChunkTable) {
  for (const bool integers : {true, false}) {
    Tensors t = make_tensors(3);
    if (integers)
      for (auto& grad : t.grad)
        for (std::size_t i = 0; i < grad.size(); ++i) grad[i] = float(int(i % 7) - 3);
    std::vector<SgdChunk> chunks;
    double expected = 0.0;
    for (std::size_t k = 0; k < 3; ++k) {
      append_sgd_chunks(chunks, t.param[k].data(), t.grad[k].data(), nullptr, 0.0f,
                        std::int64_t(t.param[k].size()));
      for (const float g : t.grad[k]) expected += double(g) * g;
    }
    std::vector<double> results;
    for (int s = 0; s < sombrero::simt::kTestScheduleCount; ++s) {
      const sombrero::simt::ScopedSchedule schedule(sombrero::simt::test_schedule(s));
      std::vector<float> chunk_sums(chunks.size(), std::nanf(""));
      double total = std::nan("");
      simt::sgd_grad_sum_squares(chunks.data(), int(chunks.size()), chunk_sums.data(), &total,
                                 nullptr);
      results.push_back(total);
    }
    for (const double r : results) EXPECT_EQ(r, results.front()) << "schedules differ";
    if (integers)
      EXPECT_EQ(results.front(), expected);
    else
      EXPECT_NEAR(results.front(), expected, 264 * std::ldexp(expected, -24));
  }
}

}  // namespace
}  // namespace sombrero::kernels
