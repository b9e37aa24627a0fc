// Where and how a run computes: train.device, train.precision and conv.algo of a run config
// resolved into a layers::Context, with one clear error for a combination this build or
// machine cannot run.
//   train.device  auto  -> cuda:<local rank> when a CUDA device is present, else cpu
//                 cpu   -> the CPU backend (f32)
//                 cuda  -> the hand-written kernels on cuda:<local rank> (error without one)
//                 simt  -> the same kernels' sources executed on the CPU (tests, debugging)
//   train.precision bf16 needs cuda or simt: the CPU backend computes in f32. With
//   train.device auto on a machine without a CUDA device, bf16 falls back to f32 and `note`
//   says so (a config written for GPUs still runs anywhere); with train.device cpu it is an
//   error.
#pragma once

#include <string>

#include "layers/context.h"
#include "runtime/config/config.h"

namespace sombrero::trainer {

// cuda_or_cpu: a config that says train.device cuda falls back to the CPU (like auto, with a
// note) when there is no CUDA device; for evaluating a GPU run's checkpoint anywhere.
layers::Context execution_context(const runtime::Config& config, int local_rank,
                                  std::string* note = nullptr, bool cuda_or_cpu = false);

// "cpu (f32)", "cuda:0 (bf16, hand-written convolutions)", "simt (f32, ...)" for the banner.
std::string describe_execution(const layers::Context& ctx);

}  // namespace sombrero::trainer
