// Thread-block cluster test kernel (runtime/cluster.h): every block of a cluster fills its
// dynamic shared memory, then each thread reads its neighbour block's slot through the
// cluster mapping. Variants plant the bugs the SIMT build must expose: the cluster barrier
// before the remote reads left out (a race: the neighbour may not have written yet), the
// closing barrier left out (a block exits while its neighbour still maps its shared memory)
// and one block skipping the barrier altogether.
#include "runtime/cluster.h"
#include "runtime/kernel_api.h"
#include "tests/simt/kernels/test_kernels.h"

namespace sombrero::simt_test {
namespace {

// out[block][thread] = the value of thread `thread` of the next block of the cluster (rank
// r + 1 mod size): 1000 * its block + thread.
__global__ void cluster_exchange_kernel(int* out, int cluster_blocks, ClusterBug bug) {
  SOMBRERO_DYNAMIC_SHARED(int, slot);
  const unsigned rank = runtime::cluster_rank();
  const int t = static_cast<int>(threadIdx.x);
  slot[t] = 1000 * static_cast<int>(blockIdx.x) + t;
  if (bug == ClusterBug::one_block_skips_the_barrier) {
    if (rank != 0) runtime::cluster_sync();
  } else if (bug != ClusterBug::missing_barrier_before_reads) {
    runtime::cluster_sync();
  }
  const int* neighbour =
      runtime::cluster_shared(slot, (rank + 1) % static_cast<unsigned>(cluster_blocks));
  out[blockIdx.x * blockDim.x + threadIdx.x] = neighbour[t];
  if (bug != ClusterBug::missing_barrier_before_exit) runtime::cluster_sync();
}

}  // namespace

namespace SOMBRERO_EXEC {

void cluster_exchange(int* out, int clusters, int cluster_blocks, int threads, ClusterBug bug) {
  SOMBRERO_LAUNCH_CLUSTERED(
      cluster_exchange_kernel, dim3(static_cast<unsigned>(clusters * cluster_blocks)),
      dim3(static_cast<unsigned>(threads)), dim3(static_cast<unsigned>(cluster_blocks)),
      sizeof(int) * threads, nullptr, out, cluster_blocks, bug);
}

}  // namespace SOMBRERO_EXEC
}  // namespace sombrero::simt_test
