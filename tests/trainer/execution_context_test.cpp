// train.device / train.precision / conv.algo resolved into a layers::Context, and the errors
// for what this machine or build cannot run.
#include "trainer/execution_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/config/run_config_schema.h"
#include "runtime/device_info.h"
#include "runtime/error.h"

namespace sombrero::trainer {
namespace {

using ::testing::HasSubstr;

runtime::Config config_with(const std::string& train, const std::string& conv = "hand") {
  return runtime::parse_config(str("model: {name: lenet}\ndata: {dataset: synthetic}\ntrain: ",
                                   train, "\nconv: {algo: ", conv, "}\n"),
                               "test.yaml", {}, runtime::run_config_schema());
}

std::string error_of(const runtime::Config& config) {
  try {
    execution_context(config, 0);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const bool kHaveGpu = !runtime::cuda_devices().empty();

TEST(ExecutionContext, AutoPicksWhatIsPresent) {
  std::string note;
  const layers::Context ctx = execution_context(config_with("{device: auto}"), 0, &note);
  EXPECT_EQ(ctx.device, kHaveGpu ? runtime::Device::cuda(0) : runtime::Device::cpu());
  EXPECT_EQ(ctx.precision, layers::Precision::f32);
  EXPECT_TRUE(note.empty());
}

TEST(ExecutionContext, Bf16UnderAutoFallsBackToF32OnlyWithoutAGpu) {
  std::string note;
  const layers::Context ctx =
      execution_context(config_with("{device: auto, precision: bf16}"), 0, &note);
  if (kHaveGpu) {
    EXPECT_EQ(ctx.precision, layers::Precision::bf16);
  } else {
    EXPECT_EQ(ctx.precision, layers::Precision::f32);
    EXPECT_THAT(note, HasSubstr("computing in f32 on the CPU backend"));
  }
}

TEST(ExecutionContext, CudaOrCpuFallsBackWithoutAGpu) {
  std::string note;
  const layers::Context ctx = execution_context(config_with("{device: cuda, precision: bf16}"), 0,
                                                &note, /*cuda_or_cpu=*/true);
  if (kHaveGpu) {
    EXPECT_EQ(ctx.device, runtime::Device::cuda(0));
    EXPECT_TRUE(note.empty());
  } else {
    EXPECT_EQ(ctx.device, runtime::Device::cpu());
    EXPECT_EQ(ctx.precision, layers::Precision::f32);
    EXPECT_THAT(note, HasSubstr("train.device cuda, but there is no CUDA device"));
    EXPECT_THAT(note, HasSubstr("computing in f32"));
  }
}

TEST(ExecutionContext, SimtRunsEitherPrecision) {
  const layers::Context ctx = execution_context(config_with("{device: simt, precision: bf16}"), 0);
  EXPECT_EQ(ctx.device, runtime::Device::simt());
  EXPECT_EQ(ctx.precision, layers::Precision::bf16);
  EXPECT_EQ(describe_execution(ctx), "simt (bf16, CUDA kernels executed on the CPU)");
}

TEST(ExecutionContext, ConvAlgoAutoIsTheDefaultAndHandOffAGpu) {
  const runtime::Config config = runtime::parse_config(
      "model: {name: lenet}\ndata: {dataset: synthetic}\ntrain: {device: simt, precision: bf16}\n",
      "test.yaml", {}, runtime::run_config_schema());
  EXPECT_EQ(config.get<std::string>("conv.algo"), "auto");
  EXPECT_EQ(execution_context(config, 0).conv_algo, layers::ConvAlgo::hand);
  EXPECT_EQ(execution_context(config_with("{device: simt}", "wgmma"), 0).conv_algo,
            layers::ConvAlgo::wgmma);
}

TEST(ExecutionContext, WhatCannotRunIsAClearError) {
  EXPECT_THAT(error_of(config_with("{device: cpu, precision: bf16}")),
              HasSubstr("train.precision: bf16 needs a CUDA device"));
  EXPECT_THAT(error_of(config_with("{device: simt}", "cudnn")),
              HasSubstr("conv.algo: cudnn has no simt execution"));
  if (!kHaveGpu) {
    EXPECT_THAT(error_of(config_with("{device: cuda}")),
                HasSubstr("train.device: cuda, but there is no usable CUDA device"));
  }
}

}  // namespace
}  // namespace sombrero::trainer
