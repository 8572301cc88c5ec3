// Atomic file replacement: temp file in the same folder + fsync + rename + fsync(folder).
#include "io/json/atomic_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "tensor/error.h"

namespace peftcpp::json_detail {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const char* what, int err) {
  throw IoError(
      detail::concat("[json] cannot write ", path.string(), ": ", what, ": ", std::strerror(err)));
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path dir =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const std::filesystem::path tmp =
      dir / (std::string(".") + path.filename().string() + ".tmp." + std::to_string(::getpid()) +
             "." + std::to_string(counter++));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail(path, "open temporary file", errno);
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(path, "write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, "fsync", err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "close", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "rename", err);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some filesystems refuse fsync on folders
    ::close(dfd);
  }
}

}  // namespace peftcpp::json_detail
