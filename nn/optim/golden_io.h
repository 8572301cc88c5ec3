// File reading for the optimizer golden checker (internal, not installed).
#pragma once

#include <string>

namespace peftcpp::nn::optim::golden_detail {

/// The whole file as a string; throws IoError naming the path.
std::string read_text_file(const std::string& path);

}  // namespace peftcpp::nn::optim::golden_detail
