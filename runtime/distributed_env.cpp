#include "runtime/distributed_env.h"

#include <cstdlib>

#include "runtime/error.h"

extern char** environ;

namespace sombrero::runtime {

namespace {

struct Source {
  const char* name;
  const char* rank;
  const char* size;
  const char* local_rank;
  bool mpi;
};

constexpr Source kSources[] = {
    {"Open MPI (OMPI_COMM_WORLD_*)", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
     "OMPI_COMM_WORLD_LOCAL_RANK", true},
    {"MPICH (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID)", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID",
     true},
    {"Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID)", "SLURM_PROCID", "SLURM_NTASKS",
     "SLURM_LOCALID", false},
    {"environment (RANK, WORLD_SIZE, LOCAL_RANK)", "RANK", "WORLD_SIZE", "LOCAL_RANK", false},
};

int parse_count(const std::map<std::string, std::string>& vars, const char* key, int fallback) {
  const auto it = vars.find(key);
  if (it == vars.end()) return fallback;
  char* end = nullptr;
  const long value = std::strtol(it->second.c_str(), &end, 10);
  SOMBRERO_CHECK(!it->second.empty() && *end == '\0' && value >= 0 && value < (1L << 30),
                 "environment variable ", key, "='", it->second, "' is not a non-negative integer");
  return static_cast<int>(value);
}

}  // namespace

DistributedEnv detect_distributed_env(const std::map<std::string, std::string>& vars) {
  for (const Source& source : kSources) {
    if (!vars.count(source.rank) || !vars.count(source.size)) continue;
    DistributedEnv env;
    env.source = source.name;
    env.launched_by_mpi = source.mpi;
    env.rank = parse_count(vars, source.rank, 0);
    env.world_size = parse_count(vars, source.size, 1);
    env.local_rank = parse_count(vars, source.local_rank, env.rank);
    SOMBRERO_CHECK(env.world_size >= 1 && env.rank < env.world_size, "launch environment from ",
                   source.name, ": rank ", env.rank, " is outside a world of size ",
                   env.world_size);
    return env;
  }
  return DistributedEnv{};
}

DistributedEnv detect_distributed_env() {
  std::map<std::string, std::string> vars;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string text(*entry);
    const std::size_t eq = text.find('=');
    if (eq != std::string::npos) vars[text.substr(0, eq)] = text.substr(eq + 1);
  }
  return detect_distributed_env(vars);
}

}  // namespace sombrero::runtime
