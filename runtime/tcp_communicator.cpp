// The TCP backend: CPU f32 tensors and host doubles between processes that MPI did not
// launch (srun without PMI, a script setting RANK/WORLD_SIZE).
//
// Topology: a star, for CPU test scale (CI, a few processes), not for bandwidth. Every rank
// keeps one connection to rank 0. A collective gathers each rank's values at rank 0, which
// sums them in rank order, ((x0 + x1) + x2) + ..., and sends the result back to every rank:
// the sum is deterministic and every rank holds the very bits rank 0 keeps. Rank 0 moves
// 2 (n-1) buffers per all-reduce, so the time grows linearly with the number of ranks; GPUs
// use NCCL's rings and trees instead.
//
// Bootstrap: env-tcp: rank 0 listens on the port of dist.rendezvous (host:port) and the
// others connect there. env-file: rank 0 listens on a free port and publishes
// "<its host name>:<port>" through the shared file (runtime/rendezvous.h).
//
// Wire: each collective is a request from every rank to rank 0 (a 16-byte header naming the
// operation and the byte count, then the payload) and a reply from rank 0 (a header, then the
// payload). Rank 0 checks that the requests match its own, so ranks whose collectives fall
// out of step fail with a message instead of mixing unrelated buffers.
//
// Failures: every send and receive waits at most dist.timeout_s without progress. A peer that
// closes its connection (crash, kill) or stalls fails the collective with an Error naming
// it; rank 0 then sends the message to the surviving ranks before it closes their
// connections, so every rank exits with a message that names the failed rank.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "runtime/communicator.h"
#include "runtime/error.h"
#include "runtime/rendezvous.h"

namespace sombrero::runtime {

namespace {

using Clock = std::chrono::steady_clock;

enum Op : std::uint32_t {
  kHello = 0x534f4d42,  // "SOMB"
  kAllReduceF32,
  kAllReduceF64,
  kBroadcast,
  kBarrier,
  kResult,
  kFailure,  // bytes = length of the message that follows
};

struct Header {
  std::uint32_t op = 0;
  std::int32_t arg = 0;  // hello: rank or world size; broadcast: root
  std::uint64_t bytes = 0;
};
static_assert(sizeof(Header) == 16);

const char* op_name(std::uint32_t op) {
  switch (op) {
    case kAllReduceF32:
      return "all_reduce_sum (f32 tensor)";
    case kAllReduceF64:
      return "all_reduce_sum (host doubles)";
    case kBroadcast:
      return "broadcast";
    case kBarrier:
      return "barrier";
    default:
      return "an unknown operation";
  }
}

constexpr std::size_t kChunkBytes = std::size_t{1} << 20;  // rank 0 sums 1 MB at a time

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int poll_ms(double seconds) {
  return static_cast<int>(std::clamp(seconds * 1000.0, 0.0, double(INT_MAX)));
}

void set_no_delay(int fd) {
  const int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
}

std::pair<std::string, std::string> split_address(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  SOMBRERO_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < address.size(),
                 "dist.rendezvous '", address, "' must be host:port for dist.init: env-tcp");
  return {address.substr(0, colon), address.substr(colon + 1)};
}

// One connection to a peer rank. Every blocking call waits at most `timeout_s` for progress
// and throws an Error naming the peer when it closes or stalls.
class Link {
 public:
  Link() = default;
  Link(int fd, int peer, double timeout_s) : fd_(fd), peer_(peer), timeout_s_(timeout_s) {}
  ~Link() { close_now(); }
  Link(Link&& other) noexcept { *this = std::move(other); }
  Link& operator=(Link&& other) noexcept {
    if (this != &other) {
      close_now();
      fd_ = std::exchange(other.fd_, -1);
      peer_ = other.peer_;
      timeout_s_ = other.timeout_s_;
    }
    return *this;
  }
  bool open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void set_peer(int peer) { peer_ = peer; }

  void receive(void* data, std::size_t size, const char* what) {
    char* bytes = static_cast<char*>(data);
    while (size > 0) {
      wait(POLLIN, what);
      const ssize_t got = recv(fd_, bytes, size, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) throw Error(closed_message(what));
      bytes += got;
      size -= static_cast<std::size_t>(got);
    }
  }

  // Returns false, with the data not fully sent, when `stop_on_incoming` is set and the peer
  // sent something first (rank 0 reporting a failure while this rank was still sending).
  bool send(const void* data, std::size_t size, const char* what, bool stop_on_incoming = false) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
      const short events = wait(POLLOUT | (stop_on_incoming ? POLLIN : 0), what);
      if (stop_on_incoming && (events & POLLIN)) return false;
      const ssize_t sent = ::send(fd_, bytes, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (sent <= 0) {
        if (stop_on_incoming) return false;  // the reason may be waiting to be read
        throw Error(closed_message(what));
      }
      bytes += sent;
      size -= static_cast<std::size_t>(sent);
    }
    return true;
  }

  void send_header(const Header& header, const char* what) { send(&header, sizeof header, what); }
  Header receive_header(const char* what) {
    Header header;
    receive(&header, sizeof header, what);
    return header;
  }

  // Best effort, for failure reports: a short wait, errors ignored.
  void try_send(const void* data, std::size_t size) {
    const char* bytes = static_cast<const char*>(data);
    const auto start = Clock::now();
    while (size > 0 && seconds_since(start) < 1.0) {
      pollfd ready{fd_, POLLOUT, 0};
      if (poll(&ready, 1, 100) <= 0) continue;
      const ssize_t sent = ::send(fd_, bytes, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent <= 0) return;
      bytes += sent;
      size -= static_cast<std::size_t>(sent);
    }
  }
  void shutdown_writes() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }

 private:
  short wait(short events, const char* what) {
    while (true) {
      pollfd ready{fd_, events, 0};
      const int n = poll(&ready, 1, poll_ms(timeout_s_));
      if (n < 0 && errno == EINTR) continue;  // a signal (SIGINT asks the trainer to stop)
      SOMBRERO_CHECK(n >= 0, "poll failed: ", std::strerror(errno));
      if (n == 0)
        throw Error(str("rank ", peer_, " made no progress for ", timeout_s_,
                        " s (dist.timeout_s) during ", what, ": is it hung, or did it stop?"));
      return ready.revents;
    }
  }
  std::string closed_message(const char* what) const {
    if (peer_ < 0) return str("a connecting process closed its connection during ", what);
    return str("rank ", peer_, " closed its connection (did it crash?) during ", what);
  }
  void close_now() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int fd_ = -1;
  int peer_ = 0;
  double timeout_s_ = 600.0;
};

class TcpCommunicator final : public Communicator {
 public:
  TcpCommunicator(const DistributedEnv& env, const TcpOptions& options)
      : rank_(env.rank), size_(env.world_size), timeout_s_(options.timeout_s) {
    SOMBRERO_CHECK(options.bootstrap != Bootstrap::mpi,
                   "the TCP communicator finds rank 0 through dist.init: env-tcp or env-file, "
                   "not mpi (under mpirun, the MPI backend serves CPU runs)");
    SOMBRERO_CHECK(!options.rendezvous.empty(),
                   "dist.init: ", options.bootstrap == Bootstrap::env_tcp ? "env-tcp" : "env-file",
                   " needs dist.rendezvous: ",
                   options.bootstrap == Bootstrap::env_tcp
                       ? "the host:port where rank 0 listens"
                       : "a path on a file system all ranks share");
    if (rank_ == 0)
      accept_peers(options);
    else
      connect_to_root(options);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "tcp"; }

  void all_reduce_sum(Tensor& tensor) override {
    check_host_f32(tensor, "all_reduce_sum");
    sum(tensor.data<float>(), static_cast<std::size_t>(tensor.numel()), kAllReduceF32);
  }
  void all_reduce_sum(std::vector<double>& values) override {
    sum(values.data(), values.size(), kAllReduceF64);
  }

  void broadcast(Tensor& tensor, int root) override {
    check_host_f32(tensor, "broadcast");
    SOMBRERO_CHECK(root >= 0 && root < size_, "broadcast: root ", root,
                   " is outside a world of size ", size_);
    const std::uint64_t bytes = tensor.bytes();
    char* data = static_cast<char*>(static_cast<void*>(tensor.data<float>()));
    const Header request{kBroadcast, root, bytes};
    if (rank_ != 0) {
      const bool sends = rank_ == root;
      exchange_with_root(request, sends ? data : nullptr, sends ? bytes : 0, data,
                         sends ? 0 : bytes);
      return;
    }
    serve(kBroadcast, [&] {
      for (int peer = 1; peer < size_; ++peer) {
        receive_request(peer, request);
        if (peer == root) links_[peer].receive(data, bytes, op_name(kBroadcast));
      }
      reply_all(data, bytes, root, kBroadcast);
    });
  }

  void barrier() override {
    const Header request{kBarrier, 0, 0};
    if (rank_ != 0) {
      exchange_with_root(request, nullptr, 0, nullptr, 0);
      return;
    }
    serve(kBarrier, [&] {
      for (int peer = 1; peer < size_; ++peer) receive_request(peer, request);
      reply_all(nullptr, 0, 0, kBarrier);
    });
  }

 private:
  // --- set-up

  void accept_peers(const TcpOptions& options) {
    const bool file = options.bootstrap == Bootstrap::env_file;
    const std::string port = file ? "0" : split_address(options.rendezvous).second;
    const Link listener(listening_socket(port), 0, timeout_s_);  // closed after set-up
    const int fd = listener.fd();
    if (file) {
      sockaddr_in6 bound{};
      socklen_t length = sizeof bound;
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      share_blob_via_file(options.rendezvous, 0, str(host, ":", ntohs(bound.sin6_port)),
                          timeout_s_);
    }
    links_.resize(std::size_t(size_));
    const auto start = Clock::now();
    try {
      for (int connected = 1; connected < size_;) {
        pollfd waiting{fd, POLLIN, 0};
        const double left = timeout_s_ - seconds_since(start);
        const int n = left > 0 ? poll(&waiting, 1, poll_ms(left)) : 0;
        if (n < 0 && errno == EINTR) continue;
        SOMBRERO_CHECK(n > 0, "rank 0 waited ", timeout_s_, " s (dist.timeout_s) for ", size_ - 1,
                       " ranks to connect (", file ? "via '" : "on ", options.rendezvous,
                       file ? "'" : "", "), but ", missing_ranks(),
                       " did not: did they start, with the same dist.rendezvous?");
        const int peer_fd = accept(fd, nullptr, nullptr);
        if (peer_fd < 0) continue;
        set_no_delay(peer_fd);
        Link link(peer_fd, -1, timeout_s_);
        const Header hello = link.receive_header("connection set-up");
        SOMBRERO_CHECK(hello.op == kHello, "rank 0: an unknown program connected to ",
                       options.rendezvous, " (not a sombrero rank)");
        const int peer = hello.arg;
        SOMBRERO_CHECK(peer > 0 && peer < size_ && !links_[std::size_t(peer)].open(),
                       "rank 0: a process connected as rank ", peer, " of ", hello.bytes,
                       ", which is out of range or taken (world size ", size_,
                       "): are two jobs sharing dist.rendezvous?");
        SOMBRERO_CHECK(hello.bytes == std::uint64_t(size_), "rank ", peer, " was started with ",
                       hello.bytes, " ranks in all, rank 0 with ", size_,
                       ": every rank needs the same WORLD_SIZE");
        link.set_peer(peer);
        links_[std::size_t(peer)] = std::move(link);
        ++connected;
      }
      for (int peer = 1; peer < size_; ++peer)
        links_[std::size_t(peer)].send_header({kHello, 0, std::uint64_t(size_)},
                                              "connection set-up");
    } catch (const Error& e) {
      tell_peers(e.what());
      throw;
    }
  }

  int listening_socket(const std::string& port) {
    const int fd = socket(AF_INET6, SOCK_STREAM, 0);
    SOMBRERO_CHECK(fd >= 0, "socket failed: ", std::strerror(errno));
    const int yes = 1, no = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);  // IPv4 too
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_addr = in6addr_any;
    any.sin6_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || listen(fd, size_) != 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      SOMBRERO_FAIL("rank 0 cannot listen on port ", port, ": ", reason,
                    " (is another job using dist.rendezvous?)");
    }
    return fd;
  }

  void connect_to_root(const TcpOptions& options) {
    const bool file = options.bootstrap == Bootstrap::env_file;
    const std::string address =
        file ? share_blob_via_file(options.rendezvous, rank_, "", timeout_s_) : options.rendezvous;
    const auto [host, port] = split_address(address);
    links_.resize(1);
    const auto start = Clock::now();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    while (!links_[0].open()) {
      addrinfo* found = nullptr;
      if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) == 0) {
        for (addrinfo* a = found; a && !links_[0].open(); a = a->ai_next) {
          const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
          if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            set_no_delay(fd);
            links_[0] = Link(fd, 0, timeout_s_);
          } else if (fd >= 0) {
            ::close(fd);
          }
        }
        freeaddrinfo(found);
      }
      if (links_[0].open()) break;
      SOMBRERO_CHECK(seconds_since(start) < timeout_s_, "rank ", rank_,
                     " could not reach rank 0 at ", address,
                     file ? str(" (read from '", options.rendezvous, "')") : "", " within ",
                     timeout_s_, " s (dist.timeout_s): is rank 0 running?");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    links_[0].send_header({kHello, rank_, std::uint64_t(size_)}, "connection set-up");
    const Header welcome = receive_reply_header("connection set-up");
    SOMBRERO_CHECK(welcome.op == kHello && welcome.bytes == std::uint64_t(size_), "rank 0 at ",
                   address, " answered as a world of ", welcome.bytes,
                   " ranks; this rank has WORLD_SIZE ", size_);
  }

  std::string missing_ranks() const {
    std::string names;
    int count = 0;
    for (int peer = 1; peer < size_; ++peer) {
      if (links_[std::size_t(peer)].open()) continue;
      if (count++ < 8) names += (names.empty() ? "" : ", ") + std::to_string(peer);
    }
    return str(count == 1 ? "rank " : "ranks ", names, count > 8 ? ", ..." : "");
  }

  // --- collectives

  template <typename T>
  void sum(T* values, std::size_t count, Op op) {
    const std::uint64_t bytes = count * sizeof(T);
    const Header request{op, 0, bytes};
    if (rank_ != 0) {
      exchange_with_root(request, values, bytes, values, bytes);
      return;
    }
    serve(op, [&] {
      for (int peer = 1; peer < size_; ++peer) receive_request(peer, request);
      // Chunk by chunk, each chunk from every rank in rank order: ((x0 + x1) + x2) + ...
      // Interleaving the ranks keeps every connection moving, so no rank waits out its
      // timeout while rank 0 reads a long buffer from another.
      std::vector<T> incoming(std::max<std::size_t>(1, std::min(count, kChunkBytes / sizeof(T))));
      for (std::size_t begin = 0; begin < count; begin += incoming.size()) {
        const std::size_t n = std::min(incoming.size(), count - begin);
        for (int peer = 1; peer < size_; ++peer) {
          links_[std::size_t(peer)].receive(incoming.data(), n * sizeof(T), op_name(op));
          T* target = values + begin;
          for (std::size_t i = 0; i < n; ++i) target[i] += incoming[i];
        }
      }
      reply_all(values, bytes, 0, op);
    });
  }

  // Rank 0's side: runs `body`; on a failure, tells every other rank before rethrowing.
  void serve(Op op, const std::function<void()>& body) {
    check_usable(op);
    try {
      body();
    } catch (const Error& e) {
      failure_ = e.what();
      tell_peers(failure_);
      throw;
    }
  }

  void receive_request(int peer, const Header& expected) {
    const Header got = links_[std::size_t(peer)].receive_header(op_name(expected.op));
    SOMBRERO_CHECK(got.op == expected.op && got.arg == expected.arg && got.bytes == expected.bytes,
                   "the ranks' collectives are out of step: rank ", peer, " called ",
                   op_name(got.op), " (", got.bytes, " bytes, root ", got.arg,
                   ") while rank 0 called ", op_name(expected.op), " (", expected.bytes,
                   " bytes, root ", expected.arg, ")");
  }

  // Sends `bytes` of `data` to every rank but `except` (which gets an empty reply), chunk by
  // chunk across the ranks.
  void reply_all(const void* data, std::uint64_t bytes, int except, Op op) {
    for (int peer = 1; peer < size_; ++peer)
      links_[std::size_t(peer)].send_header({kResult, 0, peer == except ? 0 : bytes}, op_name(op));
    const char* bytes_out = static_cast<const char*>(data);
    for (std::uint64_t begin = 0; begin < bytes; begin += kChunkBytes) {
      const std::size_t n = std::size_t(std::min<std::uint64_t>(kChunkBytes, bytes - begin));
      for (int peer = 1; peer < size_; ++peer)
        if (peer != except) links_[std::size_t(peer)].send(bytes_out + begin, n, op_name(op));
    }
  }

  void tell_peers(const std::string& message) {
    const Header failure{kFailure, 0, message.size()};
    for (Link& link : links_) {
      if (!link.open()) continue;
      link.try_send(&failure, sizeof failure);
      link.try_send(message.data(), message.size());
      link.shutdown_writes();
    }
  }

  // Any other rank's side: sends the request and its payload, receives the reply's payload.
  void exchange_with_root(const Header& request, const void* payload, std::uint64_t bytes,
                          void* result, std::uint64_t result_bytes) {
    const auto op = static_cast<Op>(request.op);
    check_usable(op);
    try {
      Link& root = links_[0];
      // A send cut short by an incoming message leaves the rest unsent: that message is
      // rank 0's failure report, read as the reply.
      if (root.send(&request, sizeof request, op_name(op), true))
        root.send(payload, bytes, op_name(op), true);
      const Header reply = receive_reply_header(op_name(op));
      SOMBRERO_CHECK(reply.op == kResult && reply.bytes == result_bytes, "rank 0 answered ",
                     op_name(op), " with ", reply.bytes, " bytes, expected ", result_bytes);
      root.receive(result, result_bytes, op_name(op));
    } catch (const Error& e) {
      failure_ = e.what();
      throw;
    }
  }

  // A reply header from rank 0; a failure report becomes this rank's Error.
  Header receive_reply_header(const char* what) {
    const Header reply = links_[0].receive_header(what);
    if (reply.op != kFailure) return reply;
    std::string message(std::min<std::uint64_t>(reply.bytes, 1 << 16), '\0');
    links_[0].receive(message.data(), message.size(), what);
    throw Error(str("rank 0 stopped the run: ", message));
  }

  void check_usable(Op op) const {
    SOMBRERO_CHECK(failure_.empty(), op_name(op), ": the TCP communicator failed earlier (",
                   failure_, ")");
  }

  static void check_host_f32(const Tensor& tensor, const char* what) {
    SOMBRERO_CHECK(tensor.defined() && tensor.is_host() && tensor.dtype() == DType::f32, "tcp ",
                   what, ": needs an f32 CPU tensor, got ",
                   tensor.defined() ? tensor.to_string(0) : std::string("an undefined tensor"),
                   " (CUDA tensors go through the NCCL backend)");
  }

  int rank_;
  int size_;
  double timeout_s_;
  std::vector<Link> links_;  // rank 0: one per rank (links_[0] unused); others: [0] = rank 0
  std::string failure_;      // set once a collective failed; later calls refuse
};

}  // namespace

std::unique_ptr<Communicator> make_tcp_communicator(const DistributedEnv& env,
                                                    const TcpOptions& options) {
  return std::make_unique<TcpCommunicator>(env, options);
}

}  // namespace sombrero::runtime
