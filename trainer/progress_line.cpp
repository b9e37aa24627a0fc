#include "trainer/progress_line.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace sombrero::trainer {

std::string format_duration(double seconds) {
  const long total = std::lround(std::max(0.0, seconds));
  const long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buffer[32];
  if (h > 0)
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", h, m, s);
  else
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld", m, s);
  return buffer;
}

ProgressLine::ProgressLine(int epoch, int epochs, std::FILE* out, double plain_interval_seconds)
    : epoch_(epoch),
      epochs_(epochs),
      out_(out),
      interactive_(isatty(fileno(out)) != 0),
      plain_interval_(plain_interval_seconds),
      last_plain_(std::chrono::steady_clock::now()) {}

std::string ProgressLine::format(int epoch, int epochs, const StepStats& s, int bar_width) {
  std::string bar;
  if (bar_width > 0) {
    const int filled =
        s.steps > 0 ? static_cast<int>(bar_width * std::min<double>(1.0, double(s.step) / s.steps))
                    : 0;
    bar.reserve(static_cast<std::size_t>(bar_width) + 3);
    bar.push_back('[');
    bar.append(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(bar_width - filled), '.');
    bar.append("] ");
  }
  char buffer[256];
  std::snprintf(
      buffer, sizeof buffer,
      "%s%lld/%lld  %.0f img/s  data %.0f%%  loss %.4f (ce %.4f u1 %.4f)  lr %.4g  ETA %s",
      bar.c_str(), static_cast<long long>(s.step), static_cast<long long>(s.steps),
      s.images_per_second, 100.0 * s.data_wait_share, s.loss, s.ce, s.u1, s.lr,
      format_duration(s.eta_seconds).c_str());
  return str("epoch ", epoch, "/", epochs, " ", buffer);
}

void ProgressLine::update(const StepStats& stats) {
  if (interactive_) {
    std::fprintf(out_, "\r%s\033[K", format(epoch_, epochs_, stats, 24).c_str());
    std::fflush(out_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (printed_plain_ && std::chrono::duration<double>(now - last_plain_).count() < plain_interval_)
    return;
  last_plain_ = now;
  printed_plain_ = true;
  std::fprintf(out_, "%s\n", format(epoch_, epochs_, stats, 0).c_str());
  std::fflush(out_);
}

void ProgressLine::finish(const StepStats& stats) {
  if (interactive_)
    std::fprintf(out_, "\r%s\033[K\n", format(epoch_, epochs_, stats, 24).c_str());
  else
    std::fprintf(out_, "%s\n", format(epoch_, epochs_, stats, 0).c_str());
  std::fflush(out_);
}

}  // namespace sombrero::trainer
