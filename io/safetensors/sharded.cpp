// Sharded checkpoints: `*.safetensors.index.json` ({"metadata": {...}, "weight_map": {name: file}})
// as written by transformers' `save_pretrained(max_shard_size=...)`. Shards open on first use.
//
// Only tensors listed in the weight map are visible; a weight-map entry whose shard lacks the
// tensor is an error when that shard is opened. Shard names must stay inside the index's
// directory (no absolute paths, no ".." components).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "io/safetensors/errors.h"
#include "io/safetensors/json_parse.h"
#include "io/safetensors/safetensors.h"

namespace peftcpp {

using namespace safetensors_detail;

struct ShardedSafetensors::Impl {
  std::string index_path;  // or the single file for an index-less directory
  std::map<std::string, std::string> metadata;
  std::vector<std::string> names;  // sorted
  std::unordered_map<std::string, std::size_t> shard_of;
  std::vector<std::string> shard_paths;  // sorted, unique
  std::mutex mu;
  std::vector<std::unique_ptr<SafetensorsFile>> opened;  // parallel to shard_paths

  std::size_t shard_index(const std::string& name) const {
    const auto it = shard_of.find(name);
    if (it == shard_of.end())
      fail(index_path, "no tensor " + quote_name(name) + " in the weight map");
    return it->second;
  }

  const SafetensorsFile& shard(std::size_t i) {
    std::lock_guard lock(mu);
    if (!opened[i]) {
      auto file = std::make_unique<SafetensorsFile>(SafetensorsFile::open(shard_paths[i]));
      for (const auto& [name, s] : shard_of) {
        if (s == i && !file->contains(name)) {
          fail(index_path, name, "mapped to " + shard_paths[i] + ", which has no such tensor");
        }
      }
      opened[i] = std::move(file);
    }
    return *opened[i];
  }
};

namespace {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read_text_file(const std::string& path) {
  constexpr std::size_t kMaxIndexSize = 100'000'000;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || text.size() + static_cast<std::size_t>(n) > kMaxIndexSize) {
      const int err = n < 0 ? errno : EFBIG;
      ::close(fd);
      fail(path, std::string("cannot read: ") + std::strerror(err));
    }
    if (n == 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

void check_shard_name(
    const std::string& index, const std::string& tensor, const std::string& file) {
  bool bad = file.empty() || file.front() == '/' || file.find('\0') != std::string::npos;
  std::size_t start = 0;
  while (!bad && start <= file.size()) {
    const auto slash = std::min(file.find('/', start), file.size());
    bad = file.compare(start, slash - start, "..") == 0;
    start = slash + 1;
  }
  if (bad)
    fail(
        index,
        tensor,
        "shard file " + quote_name(file) + " is not a plain relative path inside the directory");
}

}  // namespace

ShardedSafetensors::ShardedSafetensors(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ShardedSafetensors ShardedSafetensors::open_index(const std::string& index_path) {
  const RawIndex raw = parse_index_json(read_text_file(index_path), index_path);
  const auto slash = index_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : index_path.substr(0, slash + 1);
  auto impl = std::make_shared<Impl>();
  impl->index_path = index_path;
  impl->metadata = raw.metadata;
  for (const auto& [name, file] : raw.weight_map) {
    check_shard_name(index_path, name, file);
    impl->shard_paths.push_back(dir + file);
  }
  std::sort(impl->shard_paths.begin(), impl->shard_paths.end());
  impl->shard_paths.erase(
      std::unique(impl->shard_paths.begin(), impl->shard_paths.end()), impl->shard_paths.end());
  for (const auto& [name, file] : raw.weight_map) {
    const auto it =
        std::lower_bound(impl->shard_paths.begin(), impl->shard_paths.end(), dir + file);
    impl->shard_of.emplace(name, static_cast<std::size_t>(it - impl->shard_paths.begin()));
    impl->names.push_back(name);
  }
  std::sort(impl->names.begin(), impl->names.end());
  impl->opened.resize(impl->shard_paths.size());
  return ShardedSafetensors(std::move(impl));
}

ShardedSafetensors ShardedSafetensors::open_dir(const std::string& dir) {
  const std::string base = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  const std::string index = base + "model.safetensors.index.json";
  if (is_file(index))
    return open_index(index);
  const std::string single = base + "model.safetensors";
  if (!is_file(single)) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
      fail(dir, std::string("cannot open directory: ") + std::strerror(errno));
    fail(dir, "neither model.safetensors.index.json nor model.safetensors found");
  }
  auto impl = std::make_shared<Impl>();
  impl->index_path = single;
  impl->shard_paths = {single};
  impl->opened.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(single)));
  for (const auto& e : impl->opened[0]->entries()) {
    impl->shard_of.emplace(e.name, 0);
    impl->names.push_back(e.name);
  }
  std::sort(impl->names.begin(), impl->names.end());
  return ShardedSafetensors(std::move(impl));
}

std::vector<std::string> ShardedSafetensors::names() const {
  return impl_->names;
}

bool ShardedSafetensors::contains(const std::string& name) const {
  return impl_->shard_of.count(name) != 0;
}

std::vector<SafetensorsEntry> ShardedSafetensors::entries() const {
  std::vector<SafetensorsEntry> out;
  out.reserve(impl_->names.size());
  for (std::size_t i = 0; i < impl_->shard_paths.size(); ++i) {
    for (const auto& e : impl_->shard(i).entries()) {
      const auto it = impl_->shard_of.find(e.name);
      if (it != impl_->shard_of.end() && it->second == i)
        out.push_back(e);
    }
  }
  return out;
}

const SafetensorsEntry& ShardedSafetensors::entry(const std::string& name) const {
  return shard_for(name).entry(name);
}

std::span<const std::uint8_t> ShardedSafetensors::raw_bytes(const std::string& name) const {
  return shard_for(name).raw_bytes(name);
}

std::vector<std::uint8_t> ShardedSafetensors::read_converted(
    const std::string& name, DType& out_dtype) const {
  return shard_for(name).read_converted(name, out_dtype);
}

const std::string& ShardedSafetensors::file_for(const std::string& name) const {
  return impl_->shard_paths[impl_->shard_index(name)];
}

const SafetensorsFile& ShardedSafetensors::shard_for(const std::string& name) const {
  return impl_->shard(impl_->shard_index(name));
}

std::vector<std::string> ShardedSafetensors::shard_files() const {
  return impl_->shard_paths;
}

const std::map<std::string, std::string>& ShardedSafetensors::metadata() const {
  return impl_->metadata;
}

}  // namespace peftcpp
