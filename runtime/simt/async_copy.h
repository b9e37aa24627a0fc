// The SIMT side of cp.async (runtime/async_copy.h): asynchronous global -> shared copies,
// grouped by commit and completed by wait, per CUDA thread.
//
// Emulated pessimistically, so that a pipeline bug shows as a wrong result instead of
// hiding: at issue the destination bytes are poisoned (0xff: NaN as float or bf16) and the
// source bytes are captured; the data lands only when the issuing thread waits for the
// copy's group (or exits). A read of a stage before its wait (a missing wait_group or
// __syncthreads) and an overwrite of a stage other threads still read (a write-after-read
// race) both read poison.
#pragma once

#include <cstddef>

namespace sombrero::simt::detail {

// Queues a copy of `bytes` (at most 16) from `source` to `shared_destination`; a null
// source copies zeros.
void async_copy(void* shared_destination, const void* source, std::size_t bytes);
// Closes the current group of this thread's copies (cp.async.commit_group).
void async_copy_commit();
// Completes this thread's oldest groups until at most `pending` remain (cp.async.wait_group).
void async_copy_wait(unsigned pending);

}  // namespace sombrero::simt::detail
