// Turns CUDA runtime status codes into exceptions naming the op and the call (internal).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "tensor/error.h"

#define PEFTCPP_CUDA_CHECK(op, call)                                                              \
  do {                                                                                            \
    cudaError_t status_ = (call);                                                                 \
    if (status_ != cudaSuccess) {                                                                 \
      throw ::peftcpp::DeviceError(std::string("[") + (op) + "] " #call " failed: " +             \
                                   cudaGetErrorName(status_) + ": " + cudaGetErrorString(status_)); \
    }                                                                                             \
  } while (0)
