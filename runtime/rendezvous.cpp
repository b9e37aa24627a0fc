#include "runtime/rendezvous.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "runtime/error.h"

namespace sombrero::runtime {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// "host:port" -> (host, port)
std::pair<std::string, std::string> split_address(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  SOMBRERO_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < address.size(),
                 "rendezvous address '", address, "' must be host:port");
  return {address.substr(0, colon), address.substr(colon + 1)};
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

void send_all(int fd, const void* data, std::size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t sent = send(fd, bytes, size, MSG_NOSIGNAL);
    SOMBRERO_CHECK(sent > 0, "rendezvous: send failed: ", std::strerror(errno));
    bytes += sent;
    size -= static_cast<std::size_t>(sent);
  }
}

void receive_all(int fd, void* data, std::size_t size) {
  char* bytes = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t got = recv(fd, bytes, size, 0);
    SOMBRERO_CHECK(got > 0, "rendezvous: connection closed before the id arrived");
    bytes += got;
    size -= static_cast<std::size_t>(got);
  }
}

}  // namespace

std::string share_blob_via_file(const std::string& path, int rank, const std::string& blob,
                                double timeout_s) {
  if (rank == 0) {
    const std::string temporary = path + ".tmp." + std::to_string(getpid());
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      SOMBRERO_CHECK(
          out.good(), "rendezvous: cannot write '", temporary,
          "' (dist.rendezvous must be a writable path on a file system all ranks share)");
      out.write(blob.data(), static_cast<std::streamsize>(blob.size()));
      out.flush();
      SOMBRERO_CHECK(out.good(), "rendezvous: cannot write '", temporary, "'");
    }
    std::filesystem::rename(temporary, path);
    return blob;
  }
  const auto start = Clock::now();
  while (seconds_since(start) < timeout_s) {
    std::ifstream in(path, std::ios::binary);
    if (in.good()) {
      const std::string content((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
      if (!content.empty()) return content;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  SOMBRERO_FAIL("rendezvous: rank ", rank, " waited ", timeout_s, " s for rank 0 to write '", path,
                "'; is rank 0 running, and is the path on a file system all ranks share?");
}

std::string share_blob_via_tcp(const std::string& address, int rank, int world_size,
                               const std::string& blob, double timeout_s) {
  const auto [host, port] = split_address(address);
  const auto start = Clock::now();
  if (rank == 0) {
    Socket listener(socket(AF_INET6, SOCK_STREAM, 0));
    SOMBRERO_CHECK(listener.fd() >= 0, "rendezvous: socket failed: ", std::strerror(errno));
    const int yes = 1, no = 0;
    setsockopt(listener.fd(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    setsockopt(listener.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);  // IPv4 too
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_addr = in6addr_any;
    any.sin6_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    SOMBRERO_CHECK(bind(listener.fd(), reinterpret_cast<sockaddr*>(&any), sizeof any) == 0,
                   "rendezvous: rank 0 cannot listen on port ", port, ": ", std::strerror(errno));
    SOMBRERO_CHECK(listen(listener.fd(), world_size) == 0,
                   "rendezvous: listen failed: ", std::strerror(errno));
    const std::uint64_t size = blob.size();
    for (int served = 1; served < world_size; ++served) {
      pollfd waiting{listener.fd(), POLLIN, 0};
      const double left = timeout_s - seconds_since(start);
      SOMBRERO_CHECK(left > 0 && poll(&waiting, 1, static_cast<int>(left * 1000)) > 0,
                     "rendezvous: rank 0 waited ", timeout_s, " s on ", address, " but only ",
                     served - 1, " of ", world_size - 1, " other ranks connected");
      Socket peer(accept(listener.fd(), nullptr, nullptr));
      SOMBRERO_CHECK(peer.fd() >= 0, "rendezvous: accept failed: ", std::strerror(errno));
      send_all(peer.fd(), &size, sizeof size);
      send_all(peer.fd(), blob.data(), blob.size());
    }
    return blob;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  while (true) {
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) == 0) {
      for (addrinfo* a = found; a; a = a->ai_next) {
        Socket s(socket(a->ai_family, a->ai_socktype, a->ai_protocol));
        if (s.fd() < 0 || connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0) continue;
        freeaddrinfo(found);
        std::uint64_t size = 0;
        receive_all(s.fd(), &size, sizeof size);
        SOMBRERO_CHECK(size < (1u << 20), "rendezvous: implausible id size ", size);
        std::string received(size, '\0');
        receive_all(s.fd(), received.data(), size);
        return received;
      }
      freeaddrinfo(found);
    }
    SOMBRERO_CHECK(seconds_since(start) < timeout_s, "rendezvous: rank ", rank,
                   " could not reach rank 0 at ", address, " within ", timeout_s, " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace sombrero::runtime
