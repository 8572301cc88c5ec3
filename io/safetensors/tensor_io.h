// The bridge between safetensors files and peftcpp Tensors.
//
// Loading is zero-copy where it can be: a tensor whose stored dtype is the one it is read as and
// whose bytes sit at an address aligned for that dtype becomes a read-only CPU view of the
// memory map, holding the mapping alive. Anything else (F8 widened to float32, a misaligned
// offset, a requested dtype cast) is copied. Saving writes `safetensors.torch.save_file`'s bytes
// atomically (see safetensors.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors/safetensors.h"
#include "tensor/tensor.h"

namespace peftcpp {

/// Named tensors, sorted by name (a state dict).
using TensorMap = std::map<std::string, Tensor>;

/// One tensor of `file`; cast to `as` when given (then always a fresh, writable tensor).
Tensor load_tensor(const SafetensorsFile& file, const std::string& name,
                   std::optional<DType> as = std::nullopt);
Tensor load_tensor(const ShardedSafetensors& files, const std::string& name,
                   std::optional<DType> as = std::nullopt);

/// Every tensor of one file (`as`: cast floating-point tensors only; integer tensors keep their
/// dtype, as transformers' `torch_dtype` does).
TensorMap load_safetensors(const std::string& path, std::optional<DType> as = std::nullopt);
/// Every tensor of a checkpoint directory: `model.safetensors.index.json` (sharded) or
/// `model.safetensors`.
TensorMap load_safetensors_dir(const std::string& dir, std::optional<DType> as = std::nullopt);

/// Writes `tensors` (any device, layout or dtype; copied to contiguous CPU as needed) to `path`
/// atomically, byte-identical to `safetensors.torch.save_file(tensors, path, metadata)`.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace peftcpp
