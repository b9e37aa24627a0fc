// Data-parallel replicas must hold bitwise-identical parameters after every step (same
// initial broadcast, same averaged gradients, same update). This checks it: each rank
// hashes its parameter bytes; all hashes equal rank 0's <=> sum h = n h0 and sum h^2 = n h0^2
// over ranks (zero variance), checked on 16-bit halves so the sums are exact.
#pragma once

#include <cstdint>

#include "layers/model.h"
#include "runtime/communicator.h"

namespace sombrero::trainer {

// 32-bit FNV-1a over every parameter's bytes, in parameter order.
std::uint32_t parameter_hash(layers::Model& model);

// True when every rank's parameters hash alike (always true on one rank).
bool replicas_identical(layers::Model& model, runtime::Communicator& comm);

}  // namespace sombrero::trainer
