// The schema of a sombrero run config (`sombrero train CONFIG`, `sombrero check-config`):
// sections model, data, loss, u1, optim, schedule, train, conv, checkpoint, dist.
// Each section is declared by one function in run_config_schema.cpp; a feature that needs
// a new key declares it there, with its default, range and a one-line doc.
#pragma once

#include "runtime/config/schema.h"

namespace sombrero::runtime {

// Built once, on first use; its defaults are checked against their own ranges then.
const ObjectSchema& run_config_schema();

}  // namespace sombrero::runtime
