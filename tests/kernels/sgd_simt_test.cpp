// The multi-tensor SGD kernel (kernels/optim/sgd.cu) executed on the CPU (runtime/simt)
// against the CPU backend, under every schedule: several tensors of odd sizes (one spanning
// several chunks), per-tensor weight decay, momentum with and without Nesterov, and no
// momentum. The arithmetic is the same expressions in both, so results agree bit for bit.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sombrero::kernels
