// mmap-backed and vector-backed file images for the safetensors reader.
#include "io/safetensors/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/safetensors/errors.h"

namespace peftcpp::safetensors_detail {

namespace {

class MappedFile final : public ByteSource {
 public:
  MappedFile(void* base, std::size_t size) : base_(base) {
    data_ = static_cast<const std::uint8_t*>(base);
    size_ = size;
  }
  ~MappedFile() override {
    if (base_ != nullptr)
      ::munmap(base_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

 private:
  void* base_;
};

class OwnedBytes final : public ByteSource {
 public:
  explicit OwnedBytes(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {
    data_ = bytes_.data();
    size_ = bytes_.size();
  }

 private:
  std::vector<std::uint8_t> bytes_;
};

// Closes a descriptor on every path out of map_file.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

}  // namespace

std::shared_ptr<const ByteSource> map_file(const std::string& path) {
  // O_NONBLOCK keeps open() from hanging on a FIFO; it has no effect on regular files.
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    fail(path, "is a directory, not a safetensors file");
  if (!S_ISREG(st.st_mode))
    fail(path, "is not a regular file");
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0)
    return own_bytes({});
  void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (base == MAP_FAILED)
    fail(path, std::string("cannot mmap: ") + std::strerror(errno));
  return std::make_shared<MappedFile>(base, size);
}

std::shared_ptr<const ByteSource> own_bytes(std::vector<std::uint8_t> bytes) {
  return std::make_shared<OwnedBytes>(std::move(bytes));
}

}  // namespace peftcpp::safetensors_detail
