// Umbrella header: everything a user of peftcpp needs.
#pragma once

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
