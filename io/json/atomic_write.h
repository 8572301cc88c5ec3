// Private (not installed): atomic file replacement used by write_json_file.
//
// TODO(dedup): io/atomic_file.h (write_file_atomic(path, std::span<const uint8_t>)) is being
// written by another helper; once it lands, json_detail::write_file_atomic should forward to it.
#pragma once

#include <filesystem>
#include <string_view>

namespace peftcpp::json_detail {

/// Writes `data` to a temporary file in the folder of `path`, fsyncs it, renames it over `path`
/// and fsyncs the folder. On failure the temporary file is removed and IoError names `path`.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

}  // namespace peftcpp::json_detail
