// Launch-environment detection, the single-process communicator, and the file and TCP
// rendezvous (three real processes, forked by the test).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/communicator.h"
#include "runtime/distributed_env.h"
#include "runtime/error.h"
#include "runtime/rendezvous.h"

namespace sombrero::runtime {
namespace {

TEST(DistributedEnv, ReadsEachLauncherAndDefaultsToOneProcess) {
  EXPECT_EQ(detect_distributed_env(std::map<std::string, std::string>{}).world_size, 1);
  const auto mpi = detect_distributed_env({{"OMPI_COMM_WORLD_RANK", "3"},
                                           {"OMPI_COMM_WORLD_SIZE", "8"},
                                           {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(mpi.rank, 3);
  EXPECT_EQ(mpi.world_size, 8);
  EXPECT_EQ(mpi.local_rank, 1);
  EXPECT_TRUE(mpi.launched_by_mpi);
  const auto slurm = detect_distributed_env({{"SLURM_PROCID", "5"},
                                             {"SLURM_NTASKS", "16"},
                                             {"SLURM_LOCALID", "1"},
                                             {"RANK", "0"},
                                             {"WORLD_SIZE", "2"}});
  EXPECT_EQ(slurm.rank, 5);  // Slurm's variables win over RANK/WORLD_SIZE
  EXPECT_FALSE(slurm.launched_by_mpi);
  const auto plain = detect_distributed_env({{"RANK", "1"}, {"WORLD_SIZE", "2"}});
  EXPECT_EQ(plain.local_rank, 1);  // defaults to the rank
}

TEST(DistributedEnv, RefusesInconsistentValuesNamingTheVariables) {
  EXPECT_THROW(detect_distributed_env({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), Error);
  try {
    detect_distributed_env({{"RANK", "x"}, {"WORLD_SIZE", "2"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("RANK='x'"), std::string::npos) << e.what();
  }
}

TEST(SingleProcessCommunicator, CollectivesAreTheIdentity) {
  auto comm = make_single_process_communicator();
  EXPECT_EQ(comm->size(), 1);
  Tensor t = Tensor::from_floats(Shape{3}, {1, 2, 3});
  comm->all_reduce_sum(t);
  comm->broadcast(t, 0);
  EXPECT_EQ(t.to_floats(), (std::vector<float>{1, 2, 3}));
  std::vector<double> values{4.5};
  comm->all_reduce_sum(values);
  EXPECT_EQ(values[0], 4.5);
  EXPECT_THROW(comm->broadcast(t, 1), Error);
  EXPECT_THROW(parse_bootstrap("env_file"), Error);
  EXPECT_EQ(parse_bootstrap("env-tcp"), Bootstrap::env_tcp);
}

// Runs share(rank) in `world` forked processes; each child exits 0 when it received the blob.
void expect_every_rank_receives(int world, const std::function<std::string(int)>& share) {
  std::vector<pid_t> children;
  for (int rank = 1; rank < world; ++rank) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 1;
      try {
        code = share(rank) == "nccl-id-bytes" ? 0 : 2;
      } catch (...) {
        code = 3;
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  EXPECT_EQ(share(0), "nccl-id-bytes");
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a rank did not receive the id";
  }
}

TEST(Rendezvous, FileHandsRankZerosBlobToEveryRank) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("sombrero_rendezvous_" + std::to_string(getpid())))
          .string();
  std::filesystem::remove(path);
  expect_every_rank_receives(3, [&](int rank) {
    return share_blob_via_file(path, rank, rank == 0 ? "nccl-id-bytes" : "", 20.0);
  });
  std::filesystem::remove(path);
}

TEST(Rendezvous, TcpHandsRankZerosBlobToEveryRank) {
  const std::string address = "127.0.0.1:" + std::to_string(20000 + getpid() % 20000);
  expect_every_rank_receives(3, [&](int rank) {
    return share_blob_via_tcp(address, rank, 3, rank == 0 ? "nccl-id-bytes" : "", 20.0);
  });
}

TEST(Rendezvous, TimesOutWithAMessageNamingThePlace) {
  try {
    share_blob_via_file("/nonexistent/dir/id", 1, "", 0.2);
    FAIL() << "expected a timeout";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'/nonexistent/dir/id'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(share_blob_via_tcp("127.0.0.1:1", 1, 2, "", 0.3), Error);
}

}  // namespace
}  // namespace sombrero::runtime
