// Human-readable summary of a safetensors file (what `peftcpp info FILE` prints).
#pragma once

#include <string>

#include "io/safetensors/safetensors.h"

namespace peftcpp {

/// A table with one row per tensor (name, stored dtype, shape, bytes) in header order, a totals
/// line and the `__metadata__` entries. Ends with a newline.
std::string describe_safetensors(const SafetensorsFile& file);

}  // namespace peftcpp
