// Collective communication between the processes of a data-parallel run (one per GPU).
// Three backends behind one interface:
//   single   one process: every collective is the identity (what a plain run uses);
//   mpi      CPU tensors through MPI_Allreduce / MPI_Bcast: data parallelism on the CPU
//            backend, and how CI tests it (mpirun -np 2);
//   nccl     CUDA tensors through NCCL on the tensor's stream; the NCCL unique id is
//            exchanged through MPI, a file on a shared file system, or a TCP rendezvous.
// Sums are exact sums (averaging is the caller's scale by 1/world_size afterwards).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/distributed_env.h"
#include "runtime/tensor.h"

namespace sombrero::runtime {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "single", "mpi", "nccl"

  // In place: every rank ends with the element-wise sum over ranks. The tensor must live
  // where the backend works (mpi: cpu, f32; nccl: cuda, f32 or bf16).
  virtual void all_reduce_sum(Tensor& tensor) = 0;
  // In place: every rank ends with root's values.
  virtual void broadcast(Tensor& tensor, int root) = 0;
  // Small host values (metrics, counts): summed over ranks, in place.
  virtual void all_reduce_sum(std::vector<double>& values) = 0;
  virtual void barrier() = 0;
};

std::unique_ptr<Communicator> make_single_process_communicator();

// Initialises MPI on first use (finalised at exit). Throws when the build has no MPI.
std::unique_ptr<Communicator> make_mpi_communicator();

// How the ranks of an NCCL run find each other (config `dist.init`).
enum class Bootstrap { mpi, env_file, env_tcp };
Bootstrap parse_bootstrap(const std::string& name);  // "mpi" | "env-file" | "env-tcp"

struct NcclOptions {
  Bootstrap bootstrap = Bootstrap::mpi;
  std::string rendezvous;    // env-file: a path on a shared file system; env-tcp: host:port
  double timeout_s = 600.0;  // a collective or the rendezvous waiting longer fails the run
};

// One rank of an NCCL communicator on device `env.local_rank`. Throws when the build has
// no NCCL.
std::unique_ptr<Communicator> make_nccl_communicator(const DistributedEnv& env,
                                                     const NcclOptions& options);

}  // namespace sombrero::runtime
