// Where and how a run computes: train.device, train.precision and conv.algo of a run config
// resolved into a layers::Context, with one clear error for a combination this build or
// machine cannot run.
//   train.device  auto  -> cuda:<local rank> when a CUDA device is present, else cpu
//                 cpu   -> the CPU backend (f32)
//                 cuda  -> the hand-written kernels on cuda:<local rank> (error without one)
//                 simt  -> the same kernels' sources executed on the CPU (tests, debugging)
//   train.precision bf16 needs cuda or simt: the CPU backend computes in f32.
#pragma once

#include <string>

#include "layers/context.h"
#include "runtime/config/config.h"

namespace sombrero::trainer {

layers::Context execution_context(const runtime::Config& config, int local_rank);

// "cpu (f32)", "cuda:0 (bf16, hand-written convolutions)", "simt (f32, ...)" for the banner.
std::string describe_execution(const layers::Context& ctx);

}  // namespace sombrero::trainer
