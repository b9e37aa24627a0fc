// Which backend a launch uses (runtime/communicator.h): the trainer and `sombrero bench
// allreduce` both ask here, so a run and its benchmark talk through the same communicator.
#include "runtime/communicator.h"
#include "runtime/error.h"

namespace sombrero::runtime {

std::unique_ptr<Communicator> make_launch_communicator(const DistributedEnv& env,
                                                       const NcclOptions& options, bool on_cuda) {
  if (env.world_size == 1) return make_single_process_communicator();
  if (on_cuda) return make_nccl_communicator(env, options);
  if (options.bootstrap != Bootstrap::mpi) return make_tcp_communicator(env, options);
  SOMBRERO_CHECK(env.launched_by_mpi, "dist.init: mpi needs a launch by mpirun, but these ",
                 env.world_size, " processes were started otherwise (found ", env.source,
                 "); set dist.init: env-tcp with dist.rendezvous: <rank 0 host>:<port>, or "
                 "dist.init: env-file with dist.rendezvous: <a path all ranks share>");
  return make_mpi_communicator();
}

}  // namespace sombrero::runtime
