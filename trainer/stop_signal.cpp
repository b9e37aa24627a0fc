#include "trainer/stop_signal.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>

namespace sombrero::trainer {

namespace {
std::atomic<int> g_stop_requests{0};
std::atomic<int> g_signal{0};

extern "C" void handle_stop_signal(int signal_number) {
  if (g_stop_requests.fetch_add(1) > 0) {
    // Second signal: the user insists. Exit without unwinding (async-signal-safe).
    static const char message[] = "\nsombrero: second interrupt, exiting now\n";
    const ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    std::_Exit(130);
  }
  g_signal.store(signal_number);
  static const char message[] =
      "\nsombrero: stopping after this step and writing a checkpoint (interrupt again to "
      "exit now)\n";
  const ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
  (void)ignored;
}
}  // namespace

StopSignalGuard::StopSignalGuard() {
  struct sigaction action {};
  action.sa_handler = handle_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

StopSignalGuard::~StopSignalGuard() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

bool stop_requested() {
  return g_stop_requests.load() > 0;
}
int stop_signal_number() {
  return g_signal.load();
}
void request_stop() {
  g_stop_requests.fetch_add(1);
}
void clear_stop_request() {
  g_stop_requests.store(0);
  g_signal.store(0);
}

}  // namespace sombrero::trainer
