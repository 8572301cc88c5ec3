#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace peftcpp::train {

ProgressBar::ProgressBar(std::int64_t total_steps, std::int64_t log_every, std::FILE* out)
    : total_(std::max<std::int64_t>(total_steps, 1)),
      log_every_(std::max<std::int64_t>(log_every, 1)),
      out_(out),
      tty_(::isatty(::fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()) {}

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

std::string ProgressBar::render(std::int64_t step, double loss, double tokens_per_s,
                                double lr) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::int64_t done = step - first_step_ + 1;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) *
                                    static_cast<double>(total_ - step)
                              : NAN;
  const int width = 24;
  const int filled = static_cast<int>(static_cast<double>(width) * static_cast<double>(step) /
                                      static_cast<double>(total_));
  std::string bar(static_cast<std::size_t>(std::clamp(filled, 0, width)), '=');
  if (filled < width) bar += '>';
  bar.resize(width, ' ');
  char buf[256];
  std::snprintf(buf, sizeof buf, "step %lld/%lld [%s] loss %.4f | %.0f tok/s | lr %.2e | %s<%s",
                static_cast<long long>(step), static_cast<long long>(total_), bar.c_str(), loss,
                tokens_per_s, lr, format_duration(elapsed).c_str(), format_duration(eta).c_str());
  return buf;
}

void ProgressBar::update(std::int64_t step, double loss, double tokens_per_s, double lr) {
  if (first_step_ < 0) first_step_ = step;
  const std::string line = render(step, loss, tokens_per_s, lr);
  if (tty_) {
    std::fprintf(out_, "\r\033[K%s", line.c_str());
    open_line_ = true;
  } else if (step % log_every_ == 0 || step == total_ || step == first_step_) {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressBar::message(const std::string& text) {
  if (open_line_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", text.c_str());
  open_line_ = false;
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (open_line_) std::fprintf(out_, "\n");
  open_line_ = false;
  std::fflush(out_);
}

}  // namespace peftcpp::train
