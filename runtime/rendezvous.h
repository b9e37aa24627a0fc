// Rank 0 hands a small blob (the NCCL unique id) to every other rank without MPI:
//   file: rank 0 writes it to a path on a file system all ranks share (written to a
//         temporary name and renamed, so readers never see half a file); the others poll
//         for the file. Use a fresh path per job (e.g. one that contains $SLURM_JOB_ID):
//         a file left by an earlier run would be read as this run's.
//   tcp:  rank 0 listens on host:port and sends the blob to each rank that connects; the
//         others retry connecting until the timeout.
// Both fail with an error naming the path or address and the timeout.
#pragma once

#include <string>

namespace sombrero::runtime {

std::string share_blob_via_file(const std::string& path, int rank, const std::string& blob,
                                double timeout_s);

// `address` is "host:port"; rank 0 binds to the port on all interfaces.
std::string share_blob_via_tcp(const std::string& address, int rank, int world_size,
                               const std::string& blob, double timeout_s);

}  // namespace sombrero::runtime
