// The interface between the device-side emulation (sync.h, warp.h, runtime/warp_mma.h) and
// the SIMT executor that runs a grid (executor.cpp). Kernel code never calls it directly.
//
// Execution model: the clusters of a grid (one block each, unless the launch asks for
// thread-block clusters) run one after another (or, with SOMBRERO_SIMT_THREADS > 1, several
// at once on OS threads, each cluster entirely on one). Every CUDA thread of a cluster is a
// fiber. A fiber runs until it reaches a sync point (__syncthreads, the cluster barrier, a
// warp collective) or exits, then hands control back to the cluster's scheduler, which
// resumes the runnable fibers in the order of the current Schedule and releases a sync
// point once every thread it names has arrived. The blocks of a cluster have their own
// dynamic shared memory; `__shared__` variables are one per OS thread, so a kernel launched
// in clusters of several blocks keeps its shared memory dynamic. When that can never
// happen (a thread exited or waits elsewhere) the launch throws sombrero::Error naming
// the kernel, the block, the sites and the threads, instead of hanging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <source_location>

#include "runtime/error.h"
#include "runtime/simt/vector_types.h"

namespace sombrero::simt {

// The warp-collective operations; lanes meet in one collective only if they call the same
// operation with the same mask.
enum class WarpOp : unsigned char {
  syncwarp,
  shfl_idx,
  shfl_up,
  shfl_down,
  shfl_xor,
  ballot,
  any,
  all,
  reduce_add,
  reduce_min,
  reduce_max,
  mma_m16n8k16_bf16,
  mma_m16n8k8_tf32,
  ldmatrix_x1,
  ldmatrix_x2,
  ldmatrix_x4,
  ldmatrix_x1_trans,
  ldmatrix_x2_trans,
  ldmatrix_x4_trans,
};
const char* warp_op_name(WarpOp op);

struct WarpCall;
// Computes every participating lane's result once all lanes of `mask` have arrived;
// lanes[i] is lane i's call (null for lanes outside the mask). Runs on the scheduler.
using WarpResolve = void (*)(WarpCall* const* lanes, unsigned mask);

// One lane's arrival at a warp collective. `in` and `out` point into the lane's own frame,
// which stays alive while the lane waits.
struct WarpCall {
  WarpOp op;
  unsigned mask;
  const void* in;
  void* out;
  WarpResolve resolve;
  std::source_location site;
};

namespace detail {

// A type-erased kernel call: run(bound) calls the kernel with its bound arguments.
struct KernelEntry {
  void (*run)(const void* bound);
  const void* bound;
};

// Runs a whole grid; throws sombrero::Error on a bad configuration, a divergent barrier,
// an incomplete warp collective or an exception inside the kernel.
// `cluster`: blocks per cluster in each dimension ((1,1,1): plain blocks).
void run_grid(const char* kernel, const char* file, int line, dim3 grid, dim3 block, dim3 cluster,
              std::size_t shared_bytes, KernelEntry entry);

// __syncthreads family: waits for the whole block; returns how many threads passed a
// nonzero predicate (for __syncthreads_count/_and/_or) and the block's thread count.
struct BarrierResult {
  unsigned nonzero;
  unsigned threads;
};
BarrierResult block_barrier(int predicate, std::source_location site);

// Waits until every lane of call.mask has arrived at the same operation, then returns
// with call.out filled by call.resolve.
void warp_collective(WarpCall& call);

unsigned lane_id();             // this fiber's lane: linear thread id % 32
unsigned active_mask();         // lanes of this fiber's warp that exist and have not exited
void* dynamic_shared_memory();  // this block's dynamic shared memory (launch's shared_bytes)

// Thread-block clusters (sm_90): the block's rank in its cluster and the cluster's size; the
// cluster barrier (barrier.cluster.arrive.release + wait.acquire: every thread of every block);
// the address in block `rank`'s dynamic shared memory of `local`, a pointer into this block's
// (mapa, at `site`). Mapping into a block whose threads have all exited throws, and so does
// a block exiting after another mapped its shared memory with no cluster barrier between.
unsigned cluster_rank();
unsigned cluster_blocks();
void cluster_barrier(std::source_location site);
void* cluster_shared(const void* local, unsigned rank, std::source_location site);

// Asynchronous work of the calling CUDA thread (wgmma.mma_async), emulated lazily: queued
// by async_work, grouped by async_work_commit, run on the thread, oldest group first, by
// async_work_wait(pending) until at most `pending` groups remain. A thread that exits with
// work queued fails the launch (the work would write its registers after it ended).
void async_work(std::function<void()> work);
void async_work_commit();
void async_work_wait(unsigned pending);

// The shared-memory "address" of a pointer into the block's dynamic shared memory: its
// byte offset from the window's start (the PTX shared state space, as the descriptors of
// wgmma see it), and back; both throw for a pointer or a range outside the window.
std::uint32_t shared_address(const void* pointer);
const void* shared_pointer(std::uint32_t address, std::size_t bytes);
// The calling thread's block's dynamic shared memory, looked up once by emulations that read
// many elements. at(): the bytes at a shared address, throwing (as shared_pointer does) for a
// range outside the window; holds(): whether a pointer range lies inside it.
struct SharedWindow {
  const std::byte* base;
  std::size_t bytes;
  const std::byte* at(std::uint32_t address, std::size_t count) const {
    SOMBRERO_CHECK(base != nullptr && address + count <= bytes, "simt: shared address ", address,
                   " (+", count, " bytes) lies outside the block's ", bytes,
                   " bytes of dynamic shared memory");
    return base + address;
  }
  bool holds(const void* pointer, std::size_t count) const {
    const auto* p = static_cast<const std::byte*>(pointer);
    return base != nullptr && p >= base && p + count <= base + bytes;
  }
};
SharedWindow shared_window();

// mbarriers and bulk copies (runtime/bulk_copy.h). `barrier` points into the block's dynamic
// shared memory (mbarrier_state.h: its encoding). A bulk copy captures its source at issue
// and poisons its destination (0xff bytes) until it lands: at a wait on its barrier, which
// then counts its bytes as completed transactions. A wait whose phase has not completed
// suspends the thread until arrivals and landed copies complete it; when no thread can
// arrive any more the launch throws, naming the waiting threads. A block whose threads all
// exit with copies in flight fails the launch.
void mbarrier_init(std::uint64_t* barrier, unsigned count, std::source_location site);
void mbarrier_arrive(std::uint64_t* barrier, unsigned transaction_bytes, std::source_location site);
void mbarrier_wait(std::uint64_t* barrier, unsigned parity, std::source_location site);
void bulk_copy_to_shared(void* shared_destination, const void* global_source, unsigned bytes,
                         std::uint64_t* barrier, std::source_location site);

}  // namespace detail
}  // namespace sombrero::simt

// The built-in variables, set by the executor for the fiber it resumes. thread_local: each
// OS thread runs its own blocks. constinit: accessed directly, not through the TLS wrapper
// functions that extern thread_locals otherwise get (faster, and UBSan's null check
// misreads those wrappers).
extern constinit thread_local uint3 threadIdx;
extern constinit thread_local uint3 blockIdx;
extern constinit thread_local dim3 blockDim;
extern constinit thread_local dim3 gridDim;
inline constexpr int warpSize = 32;
