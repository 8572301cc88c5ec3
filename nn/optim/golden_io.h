// TEMPORARY minimal safetensors / JSON reading for the optimizer golden checker (internal, not
// installed). Replace read_safetensors by io/safetensors (SafetensorsFile) once that lands.
#pragma once

#include <map>
#include <string>

#include "tensor/tensor.h"

namespace peftcpp::nn::optim::golden_detail {

/// Every tensor of a safetensors file (F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL), copied into
/// CPU tensors. Throws IoError naming the file and the problem.
std::map<std::string, Tensor> read_safetensors(const std::string& path);

/// The whole file as a string; throws IoError naming the path.
std::string read_text_file(const std::string& path);

}  // namespace peftcpp::nn::optim::golden_detail
