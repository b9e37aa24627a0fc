// Collective communication between the processes of a data-parallel run (one per GPU).
// Three backends behind one interface:
//   single   one process: every collective is the identity (what a plain run uses);
//   mpi      CPU tensors through MPI_Allreduce / MPI_Bcast: data parallelism on the CPU
//            backend, and how CI tests it (mpirun -np 2);
//   nccl     CUDA tensors through NCCL on the tensor's stream; the NCCL unique id is
//            exchanged through MPI, a file on a shared file system, or a TCP rendezvous;
//   tcp      CPU tensors without MPI: every rank connects to rank 0, which sums in rank
//            order and sends the result back (a star, for CPU test scale).
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
  virtual std::string backend() const = 0;  // "single", "mpi", "nccl", "tcp"

  // In place: every rank ends with the element-wise sum over ranks. The tensor must live
  // where the backend works (mpi: cpu, f32; nccl: cuda, f32 or bf16).
  virtual void all_reduce_sum(Tensor& tensor) = 0;
  // In place: every rank ends with root's values.
  virtual void broadcast(Tensor& tensor, int root) = 0;
  // Split form of all_reduce_sum, so communication can overlap computation: start returns
  // as soon as the sum is under way, finish_all_reduces waits for every sum started since the
  // last finish (with the same failure and timeout behaviour) and orders the tensors' later
  // work after them. The tensor must not be written between the two calls. Every rank must
  // start the same collectives in the same order. NCCL runs them on a communication stream
  // of its own; the CPU backends complete each one before start returns.
  virtual void start_all_reduce_sum(Tensor& tensor) { all_reduce_sum(tensor); }
  virtual void finish_all_reduces() {}
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

// One rank of a TCP communicator for CPU f32 tensors and host doubles, without MPI. Rank 0
// listens (env-tcp: on dist.rendezvous host:port; env-file: on a free port it publishes
// through the file at dist.rendezvous); collectives go through rank 0, which sums in rank
// order, so every rank receives identical bits. A peer that closes its connection or makes
// no progress for timeout_s fails the collective on every rank with an Error naming it.
using TcpOptions = NcclOptions;  // the same dist.* settings; bootstrap env-file or env-tcp
std::unique_ptr<Communicator> make_tcp_communicator(const DistributedEnv& env,
                                                    const TcpOptions& options);

// The communicator of this launch: single process for a world of 1; NCCL on CUDA devices;
// on the CPU, MPI for dist.init: mpi (an error without an MPI launch, naming env-file and
// env-tcp), TCP for env-file and env-tcp.
std::unique_ptr<Communicator> make_launch_communicator(const DistributedEnv& env,
                                                       const NcclOptions& options, bool on_cuda);

}  // namespace sombrero::runtime
