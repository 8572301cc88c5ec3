// io/atomic_file: content exact after success; on failure the target is untouched and no
// temporary file is left behind.
#include "io/atomic_file.h"

#include <sys/resource.h>

#include <csignal>
#include <stdexcept>

#include "io/safetensors/safetensors.h"
#include "st_test_util.h"

using namespace peftcpp;
using namespace peftcpp::st_test;

namespace {

// Lowers the soft file-size limit so that writes past `bytes` fail with EFBIG (SIGXFSZ ignored).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE("write_file_atomic creates and replaces a file with exactly the given bytes") {
  TmpDir dir;
  const auto first = iota_bytes(3000);
  write_file_atomic(dir.file("f.bin"), first);
  CHECK(read_all(dir.path() / "f.bin") == first);
  const std::vector<std::uint8_t> second = {9, 8, 7};
  write_file_atomic(dir.file("f.bin"), second);
  CHECK(read_all(dir.path() / "f.bin") == second);
  write_file_atomic(dir.file("empty.bin"), {});
  CHECK(fs::file_size(dir.path() / "empty.bin") == 0);
  CHECK(dir.listing() == std::vector<std::string>{"empty.bin", "f.bin"});
}

TEST_CASE("streamed writes larger and smaller than the buffer arrive in order") {
  TmpDir dir;
  const auto big = iota_bytes(3 << 20);
  std::vector<std::uint8_t> expected;
  {
    AtomicFileWriter w(dir.file("s.bin"));
    for (int i = 0; i < 3; ++i) {
      const std::vector<std::uint8_t> small(100, static_cast<std::uint8_t>(i));
      w.write(small);
      expected.insert(expected.end(), small.begin(), small.end());
      w.write(big);
      expected.insert(expected.end(), big.begin(), big.end());
    }
    CHECK(w.bytes_written() == expected.size());
    CHECK_FALSE(fs::exists(dir.path() / "s.bin"));  // nothing published before commit
    w.commit();
  }
  CHECK(read_all(dir.path() / "s.bin") == expected);
  CHECK(dir.listing() == std::vector<std::string>{"s.bin"});
}

TEST_CASE("an exception before commit leaves the old target untouched and no temp file") {
  TmpDir dir;
  const std::vector<std::uint8_t> old = {1, 2, 3, 4};
  write_all(dir.path() / "t.bin", old);
  std::string temp;
  try {
    AtomicFileWriter w(dir.file("t.bin"));
    temp = w.temp_path();
    w.write(iota_bytes(5 << 20));
    CHECK(fs::exists(temp));  // the half-written temp file exists until unwinding
    throw std::runtime_error("simulated failure mid-way");
  } catch (const std::runtime_error&) {
  }
  CHECK(read_all(dir.path() / "t.bin") == old);
  CHECK_FALSE(fs::exists(temp));
  CHECK(dir.listing() == std::vector<std::string>{"t.bin"});
  CHECK(temp.find(dir.file(".t.bin.tmp.")) == 0);  // same directory, hidden name
}

TEST_CASE("write_safetensors failing mid-write (file size limit) keeps the target and cleans up") {
  TmpDir dir;
  const std::vector<std::uint8_t> old = {42};
  write_all(dir.path() / "m.safetensors", old);
  const auto data = iota_bytes(4 << 20);
  const std::vector<SafetensorsWriteEntry> in = {
      {"w", DType::UInt8, {static_cast<std::int64_t>(data.size())}, data}};
  {
    FileSizeLimit limit(64 * 1024);
    require_throws(
        [&] { write_safetensors(dir.file("m.safetensors"), in); },
        {"[atomic_file]", dir.file("m.safetensors"), "File too large"});
  }
  CHECK(read_all(dir.path() / "m.safetensors") == old);
  CHECK(dir.listing() == std::vector<std::string>{"m.safetensors"});
  write_safetensors(dir.file("m.safetensors"), in);  // works again without the limit
  CHECK(SafetensorsFile::open(dir.file("m.safetensors")).raw_bytes("w").size() == data.size());
}

TEST_CASE("unwritable destinations raise IoError with the reason and leave nothing behind") {
  TmpDir dir;
  require_throws(
      [&] { write_file_atomic(dir.file("missing/x.bin"), iota_bytes(4)); },
      {dir.file("missing/x.bin"), "cannot create a temporary file", "No such file or directory"});
  fs::create_directory(dir.path() / "sub");
  require_throws(
      [&] { write_file_atomic(dir.file("sub"), iota_bytes(4)); },
      {dir.file("sub"), "cannot rename"});
  require_throws(
      [&] { write_file_atomic(dir.file("sub") + "/", iota_bytes(4)); }, {"directory name"});
  CHECK(dir.listing() == std::vector<std::string>{"sub"});
  CHECK(fs::is_empty(dir.path() / "sub"));
}

TEST_CASE("discard, and commit or write after commit, are handled") {
  TmpDir dir;
  AtomicFileWriter w(dir.file("d.bin"));
  w.write(iota_bytes(10));
  w.discard();
  CHECK(dir.listing().empty());
  require_throws([&] { w.write(iota_bytes(1)); }, {"after commit or discard"});
  AtomicFileWriter c(dir.file("c.bin"));
  c.commit();
  require_throws([&] { c.commit(); }, {"after commit or discard"});
  CHECK(dir.listing() == std::vector<std::string>{"c.bin"});
}
