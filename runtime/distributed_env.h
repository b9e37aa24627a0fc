// Where this process stands in a multi-process launch: rank, world size and local rank,
// read from the launcher's environment. One process per GPU; rank r uses GPU local_rank.
//
// Sources, first match wins:
//   mpirun (Open MPI)   OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK
//   MPICH / Intel MPI   PMI_RANK, PMI_SIZE, MPI_LOCALRANKID
//   srun (Slurm)        SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID
//   plain scripts       RANK, WORLD_SIZE, LOCAL_RANK (torchrun's names)
//   none of these       a single process: rank 0 of 1
#pragma once

#include <map>
#include <string>

namespace sombrero::runtime {

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string source = "single process";  // which variables were read, for messages
  bool launched_by_mpi = false;           // Open MPI / MPICH variables present
};

// Reads the process environment. Throws sombrero::Error for inconsistent values (a rank
// outside [0, world size), a non-numeric value), naming the variables.
DistributedEnv detect_distributed_env();

// The same from an explicit variable map (tests).
DistributedEnv detect_distributed_env(const std::map<std::string, std::string>& variables);

}  // namespace sombrero::runtime
