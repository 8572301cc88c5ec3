// Crash-safe file writing: the target is either left untouched or replaced by the complete new
// content, never truncated or half written.
//
// Recipe: write to a temporary file in the target's directory (same filesystem, so rename is
// atomic), fsync it, rename it over the target, fsync the directory so that the rename itself is
// durable. On any error, and when a writer is destroyed without commit() (e.g. during stack
// unwinding), the temporary file is removed. The new file gets mode 0666 & ~umask; the mode of a
// replaced file is not carried over. A symlink at the target is replaced, not followed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace peftcpp {

/// Writes `data` to `path` atomically. Throws IoError "[atomic_file] <path>: ..." with strerror.
void write_file_atomic(const std::string& path, std::span<const std::uint8_t> data);

/// Streams content into a temporary sibling of `path`; commit() publishes it.
class AtomicFileWriter {
 public:
  /// Creates the temporary file; throws IoError when the directory is not writable.
  explicit AtomicFileWriter(const std::string& path);
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::span<const std::uint8_t> bytes);
  void write(const void* data, std::size_t size);
  /// Flushes, fsyncs, renames over the target and fsyncs the directory. Call once.
  void commit();
  /// Drops everything written so far and removes the temporary file (the destructor does this too).
  void discard() noexcept;

  const std::string& path() const {
    return path_;
  }
  const std::string& temp_path() const {
    return temp_path_;
  }
  std::uint64_t bytes_written() const {
    return written_;
  }

 private:
  void flush_buffer();
  [[noreturn]] void fail(const std::string& what, int err);

  std::string path_;
  std::string temp_path_;
  std::string dir_;
  int fd_ = -1;
  bool finished_ = false;
  std::vector<std::uint8_t> buffer_;
  std::uint64_t written_ = 0;
};

}  // namespace peftcpp
