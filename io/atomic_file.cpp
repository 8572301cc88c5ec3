// Atomic file replacement: temp file in the same directory + fsync + rename + directory fsync.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "tensor/error.h"

namespace peftcpp {

namespace {

constexpr std::size_t kBufferSize = std::size_t{1} << 20;

std::string error_text(const std::string& path, const std::string& what, int err) {
  return "[atomic_file] " + path + ": " + what + ": " + std::strerror(err);
}

// Writes all of [data, data + size) to fd; returns 0 or an errno value.
int write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

std::string random_suffix() {
  static std::atomic<std::uint64_t> counter{0};
  std::random_device rd;
  const std::uint64_t r = (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                          (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull) ^
                          static_cast<std::uint64_t>(::getpid());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
  return buf;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path) : path_(path) {
  if (path.empty())
    throw IoError("[atomic_file] empty path");
  const auto slash = path.find_last_of('/');
  if (slash == path.size() - 1)
    throw IoError("[atomic_file] " + path + ": is a directory name, not a file name");
  dir_ = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string prefix = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  for (int attempt = 0; attempt < 64 && fd_ < 0; ++attempt) {
    temp_path_ = prefix + "." + base + ".tmp." + random_suffix();
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST && errno != EINTR)
      break;
  }
  if (fd_ < 0) {
    const int err = errno;
    finished_ = true;
    throw IoError(error_text(path_, "cannot create a temporary file in '" + dir_ + "'", err));
  }
  buffer_.reserve(kBufferSize);
}

AtomicFileWriter::~AtomicFileWriter() {
  discard();
}

void AtomicFileWriter::discard() noexcept {
  if (finished_)
    return;
  finished_ = true;
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  ::unlink(temp_path_.c_str());
  buffer_.clear();
}

void AtomicFileWriter::fail(const std::string& what, int err) {
  discard();
  throw IoError(error_text(path_, what, err));
}

void AtomicFileWriter::flush_buffer() {
  if (buffer_.empty())
    return;
  if (const int err = write_all(fd_, buffer_.data(), buffer_.size()); err != 0) {
    fail("write to temporary file '" + temp_path_ + "' failed", err);
  }
  buffer_.clear();
}

void AtomicFileWriter::write(const void* data, std::size_t size) {
  if (finished_)
    throw IoError("[atomic_file] " + path_ + ": write after commit or discard");
  const auto* p = static_cast<const std::uint8_t*>(data);
  if (buffer_.size() + size <= kBufferSize) {
    buffer_.insert(buffer_.end(), p, p + size);
  } else {
    flush_buffer();
    if (size < kBufferSize) {
      buffer_.insert(buffer_.end(), p, p + size);
    } else if (const int err = write_all(fd_, p, size); err != 0) {
      fail("write to temporary file '" + temp_path_ + "' failed", err);
    }
  }
  written_ += size;
}

void AtomicFileWriter::write(std::span<const std::uint8_t> bytes) {
  write(bytes.data(), bytes.size());
}

void AtomicFileWriter::commit() {
  if (finished_)
    throw IoError("[atomic_file] " + path_ + ": commit after commit or discard");
  flush_buffer();
  if (::fsync(fd_) != 0)
    fail("fsync of temporary file failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0)
    fail("close of temporary file failed", errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail("cannot rename temporary file over the target", errno);
  finished_ = true;  // the temp name is gone; nothing left to clean up
  // Make the rename durable. Some filesystems cannot fsync directories (EINVAL); that is not an
  // error.
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int rc = ::fsync(dfd);
    const int err = errno;
    ::close(dfd);
    if (rc != 0 && err != EINVAL && err != ENOTSUP) {
      throw IoError(error_text(path_, "fsync of directory '" + dir_ + "' failed", err));
    }
  }
}

void write_file_atomic(const std::string& path, std::span<const std::uint8_t> data) {
  AtomicFileWriter writer(path);
  writer.write(data);
  writer.commit();
}

}  // namespace peftcpp
