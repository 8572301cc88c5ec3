// Where and how layers create their parameters.
#pragma once

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/ops/random.h"

namespace peftcpp::nn {

/// Parameters are initialised in float32 on the CPU with `generator` (nullptr = the default
/// generator, so results follow manual_seed), then converted to `dtype` / `device`.
struct FactoryOptions {
  DType dtype = kFloat32;
  Device device = kCPU;
  Generator* generator = nullptr;
};

}  // namespace peftcpp::nn
