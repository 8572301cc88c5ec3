// A live training progress line: step, loss, tokens/s, learning rate and ETA. On a terminal it
// redraws one line; otherwise (logs, CI) it prints a plain line every `log_every` steps.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace peftcpp::train {

class ProgressBar {
 public:
  ProgressBar(std::int64_t total_steps, std::int64_t log_every = 10, std::FILE* out = stderr);
  /// After optimizer step `step` (1-based) with the given running values.
  void update(std::int64_t step, double loss, double tokens_per_s, double lr);
  /// A message on its own line (the bar is redrawn after it).
  void message(const std::string& text);
  /// Ends the bar's line.
  void finish();

  /// "1:02:03" / "02:03".
  static std::string format_duration(double seconds);

 private:
  std::string render(std::int64_t step, double loss, double tokens_per_s, double lr) const;
  std::int64_t total_, log_every_;
  std::FILE* out_;
  bool tty_;
  bool open_line_ = false;
  std::chrono::steady_clock::time_point start_;
  std::int64_t first_step_ = -1;
};

}  // namespace peftcpp::train
