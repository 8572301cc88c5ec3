// Error helpers shared by the safetensors reader, writer and index code (internal).
#pragma once

#include <string>
#include <string_view>

namespace peftcpp::safetensors_detail {

/// `'name'` with control characters (< 0x20, 0x7f) shown as \xNN, cut after 200 bytes, so
/// that hostile tensor names cannot garble a log line.
std::string quote_name(std::string_view name);

/// Throws IoError "[safetensors] <file>: <problem>".
[[noreturn]] void fail(const std::string& file, const std::string& problem);
/// Throws IoError "[safetensors] <file>: tensor '<tensor>': <problem>".
[[noreturn]] void fail(
    const std::string& file, std::string_view tensor, const std::string& problem);

}  // namespace peftcpp::safetensors_detail
