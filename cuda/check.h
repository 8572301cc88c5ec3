// Turns CUDA runtime and cuBLAS status codes into DeviceErrors naming the op, the call and the
// status string (internal: includes CUDA headers).
#pragma once

#include <cublas_v2.h>
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

#define PEFTCPP_CUBLAS_CHECK(op, call)                                                            \
  do {                                                                                            \
    cublasStatus_t status_ = (call);                                                              \
    if (status_ != CUBLAS_STATUS_SUCCESS) {                                                       \
      throw ::peftcpp::DeviceError(std::string("[") + (op) + "] " #call " failed: " +             \
                                   cublasGetStatusName(status_) + ": " +                          \
                                   cublasGetStatusString(status_));                               \
    }                                                                                             \
  } while (0)

/// After a kernel launch: a bad configuration or an earlier asynchronous fault surfaces here.
#define PEFTCPP_CUDA_CHECK_LAUNCH(op) PEFTCPP_CUDA_CHECK(op, cudaGetLastError())
