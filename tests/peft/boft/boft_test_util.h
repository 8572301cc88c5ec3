// Helpers of the BOFT tests: a scope that enables PEFT-with-fbd butterfly factors.
#pragma once

#include "peft/tuners/boft/butterfly.h"

namespace peftcpp::test {

/// Enables (or disables) boft_n_butterfly_factor > 1 for the scope, restoring it afterwards.
class ButterflyScope {
 public:
  explicit ButterflyScope(bool enabled) : old_(boft::butterfly_factor_enabled()) {
    boft::set_butterfly_factor_enabled(enabled);
  }
  ~ButterflyScope() {
    boft::set_butterfly_factor_enabled(old_);
  }
  ButterflyScope(const ButterflyScope&) = delete;
  ButterflyScope& operator=(const ButterflyScope&) = delete;

 private:
  bool old_;
};

}  // namespace peftcpp::test
