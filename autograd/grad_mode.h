// Whether ops record autograd history (thread-local, on by default).
#pragma once

namespace peftcpp {

class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// RAII scope in which no op records history (torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) {
    GradMode::set_enabled(false);
  }
  ~NoGradGuard() {
    GradMode::set_enabled(prev_);
  }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

/// RAII scope that turns recording back on inside a NoGradGuard (torch.enable_grad()).
class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(GradMode::is_enabled()) {
    GradMode::set_enabled(true);
  }
  ~EnableGradGuard() {
    GradMode::set_enabled(prev_);
  }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace peftcpp
