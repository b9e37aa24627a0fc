// A single-rank NCCL data-parallel step equals the plain step on the GPU: the gradients go
// through the buckets and an NCCL all-reduce over one rank (a sum of one term) and a scale by
// 1, so the parameters must stay bitwise equal to a model trained without a communicator.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>

#include "kernels/u1loss/class_angles.h"
#include "layers/sgd.h"
#include "layers/zoo.h"
#include "losses/combined_loss.h"
#include "runtime/communicator.h"
#include "runtime/config/config.h"
#include "runtime/config/run_config_schema.h"
#include "runtime/device_info.h"
#include "runtime/generator.h"
#include "trainer/gradient_buckets.h"

namespace sombrero::trainer {
namespace {

std::unique_ptr<layers::Model> tiny_model() {
  const runtime::Config config = runtime::parse_config(
      "model: {name: fashion_cnn, width: 4, num_classes: 10}\ndata: {dataset: synthetic}\n",
      "nccl step test", {}, runtime::run_config_schema());
  auto model = layers::build_model(layers::model_options_from_config(config, 10, 1, 12));
  model->to(runtime::Device::cuda(0));
  return model;
}

TEST(NcclStepGpu, SingleRankStepEqualsThePlainStep) {
  if (runtime::cuda_devices().empty())
    GTEST_SKIP() << "no CUDA device: " << runtime::cuda_unavailable_reason();
  const auto rendezvous = std::filesystem::temp_directory_path() / "sombrero-nccl-step-test";
  std::filesystem::remove(rendezvous);
  runtime::DistributedEnv env;  // rank 0 of 1 on cuda:0
  runtime::NcclOptions options;
  options.bootstrap = runtime::Bootstrap::env_file;
  options.rendezvous = rendezvous.string();
  options.timeout_s = 60;
  auto comm = runtime::make_nccl_communicator(env, options);

  auto plain = tiny_model(), ranked = tiny_model();
  layers::Sgd sgd_plain(plain->parameters(), {}), sgd_ranked(ranked->parameters(), {});
  GradientBuckets buckets(ranked->parameters(), 0.001);  // several buckets of 1 kB
  losses::CombinedLossOptions loss_options;
  loss_options.u1.weight = 0.1f;
  loss_options.class_angles = kernels::class_angle_table(kernels::ClassAngles::uniform, 10, 0);
  const losses::CombinedLoss loss(loss_options);
  layers::Context ctx;
  ctx.device = runtime::Device::cuda(0);
  runtime::Generator generator(5);
  const std::vector<std::int32_t> labels{0, 1, 2, 3, 4, 5, 6, 7};
  for (int step = 0; step < 2; ++step) {
    runtime::Tensor images =
        runtime::Tensor::empty({8, 12, 12, 1}, runtime::DType::f32, ctx.device);
    images.fill_normal(generator);
    for (layers::Model* model : {plain.get(), ranked.get()}) {
      model->zero_grad();
      const runtime::Tensor logits = model->forward(ctx, images);
      const losses::LossOutput out =
          loss.compute(logits, labels, model->bottleneck(), &model->bottleneck_grad());
      model->backward(ctx, out.dlogits);
    }
    buckets.all_reduce_mean(*comm);
    sgd_plain.step(0.05f);
    sgd_ranked.step(0.05f);
  }
  const auto a = plain->parameters(), b = ranked->parameters();
  ASSERT_GT(buckets.buckets().size(), 1u);
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].parameter->value.to_floats(), b[i].parameter->value.to_floats()) << a[i].name;
  std::filesystem::remove(rendezvous);
}

}  // namespace
}  // namespace sombrero::trainer
