#include "io/safetensors/tensor_io.h"

#include <cstdint>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp {
namespace {

// `bytes` (owned) as a fresh tensor of `dtype` and `shape`.
Tensor tensor_from_bytes(const std::vector<std::uint8_t>& bytes, DType dtype, const Shape& shape) {
  Tensor t = zeros(shape, dtype);
  if (!bytes.empty()) std::memcpy(t.raw_data(), bytes.data(), bytes.size());
  return t;
}

template <class Source>
Tensor load_from(const Source& src, const SafetensorsFile& owner, const std::string& name,
                 std::optional<DType> as) {
  const SafetensorsEntry& e = src.entry(name);
  Shape shape(e.shape.begin(), e.shape.end());
  Tensor t;
  const std::span<const std::uint8_t> raw = src.raw_bytes(name);
  const auto addr = reinterpret_cast<std::uintptr_t>(raw.data());
  if (e.is_native() && addr % itemsize(e.dtype) == 0 && !raw.empty()) {
    // The mapping is PROT_READ: the view is marked read-only so in-place writes raise.
    t = from_blob(const_cast<std::uint8_t*>(raw.data()), shape, e.dtype, owner.keepalive(),
                  /*read_only=*/true);
  } else {
    DType stored = e.dtype;
    t = tensor_from_bytes(src.read_converted(name, stored), stored, shape);
  }
  if (as && *as != t.dtype()) return t.to(*as);
  if (as) return t.clone();
  return t;
}

std::vector<SafetensorsWriteEntry> write_entries(
    const std::vector<std::pair<std::string, Tensor>>& tensors, std::vector<Tensor>& hold) {
  std::vector<SafetensorsWriteEntry> out;
  out.reserve(tensors.size());
  hold.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) throw ValueError("[safetensors] save: tensor '" + name + "' is undefined");
    Tensor c = t.detach().to(kCPU).contiguous();
    hold.push_back(c);
    SafetensorsWriteEntry e;
    e.name = name;
    e.dtype = c.dtype();
    e.shape.assign(c.shape().begin(), c.shape().end());
    e.data = std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(c.raw_data()), c.nbytes());
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<DType> float_only(std::optional<DType> as, DType stored) {
  if (as && is_floating_point(stored)) return as;
  return std::nullopt;
}

}  // namespace

Tensor load_tensor(const SafetensorsFile& file, const std::string& name, std::optional<DType> as) {
  return load_from(file, file, name, as);
}

Tensor load_tensor(const ShardedSafetensors& files, const std::string& name,
                   std::optional<DType> as) {
  return load_from(files, files.shard_for(name), name, as);
}

TensorMap load_safetensors(const std::string& path, std::optional<DType> as) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  TensorMap out;
  for (const SafetensorsEntry& e : file.entries())
    out.emplace(e.name, load_tensor(file, e.name, float_only(as, e.dtype)));
  return out;
}

TensorMap load_safetensors_dir(const std::string& dir, std::optional<DType> as) {
  const ShardedSafetensors files = ShardedSafetensors::open_dir(dir);
  TensorMap out;
  for (const std::string& name : files.names())
    out.emplace(name, load_tensor(files, name, float_only(as, files.entry(name).dtype)));
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, std::vector<std::pair<std::string, Tensor>>(tensors.begin(), tensors.end()),
                   metadata);
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> hold;
  write_safetensors(path, write_entries(tensors, hold), metadata);
}

}  // namespace peftcpp
