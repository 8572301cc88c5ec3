// doctest entry point of the CUDA test executables. Without a usable GPU (and outside the
// PEFTCPP_CUDA_TESTS_ON_CPU dry run) only the test cases named "... (runs without a GPU)" run;
// the rest are filtered out, which doctest reports as skipped, so the suite's summary counts them
// as skipped rather than passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "cuda/cuda.h"
#include "tests/cuda/cuda_test_util.h"

int main(int argc, char** argv) {
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  if (!peftcpp::cuda_test::dry_run_on_cpu() && !peftcpp::cuda::is_available()) {
    std::cout << "CUDA tests skipped: " << peftcpp::cuda::unavailable_reason() << "\n";
    context.addFilter("test-case", "*(runs without a GPU)*");
  }
  return context.run();
}
