// The TCP communicator with real processes: rank 0 runs in the test process, the other ranks
// are forked. Sums are checked bit for bit against ((x0 + x1) + x2) computed here, and every
// rank must hold the same bits; a rank that exits or stalls must fail the others with an
// Error naming it, within the timeout.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "runtime/communicator.h"
#include "runtime/error.h"

namespace sombrero::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A port that was free a moment ago (the kernel's choice for port 0).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any);
  socklen_t length = sizeof any;
  getsockname(fd, reinterpret_cast<sockaddr*>(&any), &length);
  close(fd);
  return ntohs(any.sin_port);
}

TcpOptions tcp_options(double timeout_s) {
  TcpOptions options;
  options.bootstrap = Bootstrap::env_tcp;
  options.rendezvous = "127.0.0.1:" + std::to_string(free_port());
  options.timeout_s = timeout_s;
  return options;
}

std::unique_ptr<Communicator> connect(int rank, int world, const TcpOptions& options) {
  DistributedEnv env;
  env.rank = rank;
  env.world_size = world;
  env.local_rank = rank;
  env.source = "test";
  return make_tcp_communicator(env, options);
}

struct Outcome {
  bool ok = false;
  std::string text;  // what the rank returned, or its error message
};

// Runs body(rank) as `world` ranks: rank 0 here, the others in forked processes (which
// report through a pipe and never return into the test).
std::vector<Outcome> run_ranks(int world, const std::function<std::string(int)>& body) {
  const auto run = [&](int rank) {
    Outcome outcome;
    try {
      outcome.text = body(rank);
      outcome.ok = true;
    } catch (const Error& e) {
      outcome.text = e.what();
    }
    return outcome;
  };
  std::vector<int> pipes;
  std::vector<pid_t> children;
  for (int rank = 1; rank < world; ++rank) {
    int ends[2];
    EXPECT_EQ(pipe(ends), 0);
    const pid_t pid = fork();
    if (pid == 0) {
      close(ends[0]);
      const Outcome outcome = run(rank);
      const std::string report = (outcome.ok ? "o" : "e") + outcome.text;
      for (std::size_t done = 0; done < report.size();) {
        const ssize_t n = write(ends[1], report.data() + done, report.size() - done);
        if (n <= 0) break;
        done += std::size_t(n);
      }
      _exit(0);
    }
    close(ends[1]);
    pipes.push_back(ends[0]);
    children.push_back(pid);
  }
  std::vector<Outcome> outcomes{run(0)};
  for (std::size_t i = 0; i < pipes.size(); ++i) {
    std::string report;
    char buffer[65536];
    for (ssize_t n; (n = read(pipes[i], buffer, sizeof buffer)) > 0;) report.append(buffer, n);
    close(pipes[i]);
    waitpid(children[i], nullptr, 0);
    outcomes.push_back(
        {!report.empty() && report[0] == 'o', report.empty() ? "" : report.substr(1)});
  }
  return outcomes;
}

// Values whose sum depends on the order of addition (no exact integers).
std::vector<float> rank_values(int rank, std::size_t count) {
  std::vector<float> values(count);
  std::uint32_t state = 2463534242u + std::uint32_t(rank) * 7919u;
  for (float& v : values) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    v = float(state % 2000003) / 1000.0f - 1000.0f;
  }
  return values;
}

std::string bytes_of(const Tensor& t) {
  return std::string(static_cast<const char*>(static_cast<const void*>(t.data<float>())),
                     t.bytes());
}

TEST(TcpCommunicator, SumsInRankOrderAndEveryRankHoldsTheSameBits) {
  constexpr int kWorld = 3;
  constexpr std::size_t kCount = 300'001;  // 1.2 MB: rank 0 sums it in two chunks
  const TcpOptions options = tcp_options(20.0);
  std::vector<float> expected = rank_values(0, kCount);
  for (int rank = 1; rank < kWorld; ++rank) {
    const std::vector<float> x = rank_values(rank, kCount);
    for (std::size_t i = 0; i < kCount; ++i) expected[i] += x[i];
  }
  const auto outcomes = run_ranks(kWorld, [&](int rank) {
    auto comm = connect(rank, kWorld, options);
    EXPECT_EQ(comm->backend(), "tcp");
    Tensor t = Tensor::from_floats(Shape{std::int64_t(kCount)}, rank_values(rank, kCount));
    comm->all_reduce_sum(t);
    return bytes_of(t);
  });
  const std::string reference(reinterpret_cast<const char*>(expected.data()),
                              kCount * sizeof(float));
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(outcomes[rank].ok) << "rank " << rank << ": " << outcomes[rank].text;
    EXPECT_TRUE(outcomes[rank].text == reference)
        << "rank " << rank << " does not hold ((x0 + x1) + x2) bit for bit";
  }
}

TEST(TcpCommunicator, BroadcastsFromAnyRootSumsDoublesAndWaitsAtTheBarrier) {
  constexpr int kWorld = 3;
  const TcpOptions options = tcp_options(20.0);
  const auto outcomes = run_ranks(kWorld, [&](int rank) {
    auto comm = connect(rank, kWorld, options);
    std::string out;
    for (int root : {0, 2}) {
      Tensor t = Tensor::full(Shape{5}, float(10 * rank + 1));
      comm->broadcast(t, root);
      for (float v : t.to_floats()) out += std::to_string(v) + " ";
    }
    std::vector<double> values{double(rank), 0.25 * rank, 1e-300};
    comm->all_reduce_sum(values);
    for (double v : values) out += std::to_string(v) + " ";
    out += std::to_string(values[2] == 3e-300) + " ";
    // The barrier holds every rank until the slowest (rank 2, 0.3 s late) arrives.
    if (rank == 2) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = Clock::now();
    comm->barrier();
    out += std::to_string(rank == 2 || seconds_since(start) > 0.2);
    return out;
  });
  const std::string expected =
      "1.000000 1.000000 1.000000 1.000000 1.000000 "
      "21.000000 21.000000 21.000000 21.000000 21.000000 "
      "3.000000 0.750000 0.000000 1 1";
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(outcomes[rank].ok) << "rank " << rank << ": " << outcomes[rank].text;
    EXPECT_EQ(outcomes[rank].text, expected) << "rank " << rank;
  }
}

TEST(TcpCommunicator, FileBootstrapPublishesRankZerosAddress) {
  constexpr int kWorld = 3;
  TcpOptions options;
  options.bootstrap = Bootstrap::env_file;
  options.rendezvous = (std::filesystem::temp_directory_path() /
                        ("sombrero_tcp_rendezvous_" + std::to_string(getpid())))
                           .string();
  options.timeout_s = 20.0;
  std::filesystem::remove(options.rendezvous);
  const auto outcomes = run_ranks(kWorld, [&](int rank) {
    auto comm = connect(rank, kWorld, options);
    std::vector<double> values{double(rank + 1)};
    comm->all_reduce_sum(values);
    return std::to_string(values[0]);
  });
  std::filesystem::remove(options.rendezvous);
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(outcomes[rank].ok) << "rank " << rank << ": " << outcomes[rank].text;
    EXPECT_EQ(outcomes[rank].text, "6.000000");
  }
}

TEST(TcpCommunicator, ARankThatExitsFailsTheOthersWithAnErrorNamingIt) {
  constexpr int kWorld = 3;
  const TcpOptions options = tcp_options(5.0);
  const auto outcomes = run_ranks(kWorld, [&](int rank) {
    auto comm = connect(rank, kWorld, options);
    if (rank == 2) _exit(0);  // dies without a word, as after a crash
    const auto start = Clock::now();
    Tensor t = Tensor::full(Shape{1000}, 1.0f);
    comm->all_reduce_sum(t);
    return str("finished after ", seconds_since(start), " s");
  });
  ASSERT_EQ(outcomes.size(), 3u);
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_FALSE(outcomes[rank].ok) << "rank " << rank << ": " << outcomes[rank].text;
    EXPECT_NE(outcomes[rank].text.find("rank 2 closed its connection (did it crash?)"),
              std::string::npos)
        << "rank " << rank << ": " << outcomes[rank].text;
  }
  EXPECT_NE(outcomes[1].text.find("rank 0 stopped the run"), std::string::npos) << outcomes[1].text;
}

TEST(TcpCommunicator, AStalledRankFailsTheOthersAfterTheTimeout) {
  constexpr int kWorld = 2;
  const TcpOptions options = tcp_options(0.5);
  const auto outcomes = run_ranks(kWorld, [&](int rank) {
    auto comm = connect(rank, kWorld, options);
    if (rank == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const auto start = Clock::now();
    try {
      comm->barrier();
    } catch (const Error& e) {
      throw Error(str(e.what(), " [after ", seconds_since(start), " s]"));
    }
    return std::string("passed the barrier");
  });
  EXPECT_FALSE(outcomes[0].ok);
  EXPECT_NE(outcomes[0].text.find("rank 1 made no progress for 0.5 s (dist.timeout_s)"),
            std::string::npos)
      << outcomes[0].text;
  const double waited = std::stod(outcomes[0].text.substr(outcomes[0].text.rfind('[') + 7));
  EXPECT_LT(waited, 1.4) << outcomes[0].text;
  EXPECT_FALSE(outcomes[1].ok);  // rank 0 told it on its way out
  EXPECT_NE(outcomes[1].text.find("rank 1 made no progress"), std::string::npos)
      << outcomes[1].text;
}

TEST(TcpCommunicator, CollectivesOutOfStepAreAnErrorNotAMixUp) {
  const TcpOptions options = tcp_options(5.0);
  const auto outcomes = run_ranks(2, [&](int rank) {
    auto comm = connect(rank, 2, options);
    Tensor t = Tensor::full(Shape{rank == 0 ? 4 : 6}, 1.0f);
    comm->all_reduce_sum(t);
    return std::string("summed");
  });
  for (const Outcome& outcome : outcomes) {
    EXPECT_FALSE(outcome.ok);
    EXPECT_NE(outcome.text.find("out of step: rank 1 called all_reduce_sum (f32 tensor) (24 "
                                "bytes, root 0) while rank 0 called all_reduce_sum (f32 tensor) "
                                "(16 bytes"),
              std::string::npos)
        << outcome.text;
  }
}

TEST(TcpCommunicator, RankZeroAloneGivesUpNamingTheMissingRank) {
  const auto start = Clock::now();
  try {
    connect(0, 3, tcp_options(0.3));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ranks 1, 2 did not"), std::string::npos) << e.what();
  }
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST(LaunchCommunicator, MpiInitWithoutMpirunNamesTheAlternatives) {
  DistributedEnv env;
  env.rank = 0;
  env.world_size = 2;
  env.source = "environment (RANK, WORLD_SIZE, LOCAL_RANK)";
  NcclOptions options;  // dist.init: mpi, the default
  try {
    make_launch_communicator(env, options, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("dist.init: mpi needs a launch by mpirun"), std::string::npos);
    EXPECT_NE(message.find("env-tcp"), std::string::npos);
    EXPECT_NE(message.find("env-file"), std::string::npos);
  }
  env.world_size = 1;
  EXPECT_EQ(make_launch_communicator(env, options, false)->backend(), "single");
}

}  // namespace
}  // namespace sombrero::runtime
