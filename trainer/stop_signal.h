// SIGINT / SIGTERM handling for training: the first signal asks the run to stop after the
// current step (it then writes a checkpoint and exits 0); a second one exits at once.
#pragma once

namespace sombrero::trainer {

// Installs the handlers (idempotent). Restores the defaults when the guard is destroyed.
class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;
};

// True once a stop was requested (by a signal or request_stop).
bool stop_requested();
// The signal that asked, 0 if none (or a programmatic request).
int stop_signal_number();
void request_stop();
void clear_stop_request();

}  // namespace sombrero::trainer
