// Umbrella header: everything a user of peftcpp needs.
#pragma once

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "cuda/cuda.h"
#include "tensor/ops.h"
#include "tensor/tensor.h"
