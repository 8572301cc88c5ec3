#include "models/model.h"

#include <map>
#include <set>

#include "io/safetensors/tensor_io.h"
#include "models/registry.h"
#include "tensor/error.h"
#include "tensor/ops/random.h"

namespace peftcpp::models {

std::int64_t KVCache::seq_length() const {
  if (self.empty() || !self.front().key.defined()) return 0;
  return self.front().key.size(-2);
}

void set_span_logits(ModelOutput& out, const Tensor& logits) {
  out.start_logits = logits.select(-1, 0).contiguous();
  out.end_logits = logits.select(-1, 1).contiguous();
}

void check_id_tensor(const Tensor& t, const char* who, const char* name, std::int64_t batch,
                     std::int64_t len) {
  if (!t.defined()) return;
  PEFTCPP_CHECK_DTYPE(!is_floating_point(t.dtype()) && t.dtype() != kBool, who, " ", name,
                      " must hold integer ids, got ", dtype_name(t.dtype()));
  PEFTCPP_CHECK_SHAPE(t.dim() == 2 && (t.size(0) == batch || t.size(0) == 1) && t.size(1) == len,
                      who, " ", name, " ", shape_str(t.shape()), " does not fit [batch ", batch,
                      ", ", len, "]");
}

void PreTrainedModel::replicate_layers(const std::vector<std::pair<int, int>>& /*layer_map*/) {
  throw ValueError("[models] layer_replication is not supported for " + type_name() +
                   " (supported: the LLaMA family)");
}

void PreTrainedModel::save_pretrained(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  nn::StateDict state = state_dict();
  for (const auto& [tied, source] : tied_weights()) {
    (void)source;
    state.erase(tied);
  }
  // transformers records the saved class, so a reload builds the same architecture.
  std::unique_ptr<HfConfig> config_copy = config().clone();
  config_copy->architectures = std::vector<std::string>{type_name()};
  config_copy->save_pretrained(dir);
  save_safetensors((dir / "model.safetensors").string(), state);
}

ModelPtr from_config(const HfConfig& config, const std::string& architecture) {
  std::string arch = architecture;
  if (arch.empty() && config.architectures && !config.architectures->empty())
    arch = config.architectures->front();
  const ModelFamily* family = find_model_family(config.model_type());
  if (family == nullptr) {
    throw ValueError(std::string("[models] no model family for model_type '") +
                     config.model_type() + "' (known: " + known_model_types() + ")");
  }
  return family->make(config, arch);
}

namespace {

// Checkpoint keys -> the model's names, as transformers' loading does: keys naming a buffer
// the model does not persist (rotary inv_freq, BERT position_ids, GPT-2 attn.bias) are dropped,
// and a checkpoint of the bare model loads into a task model (prefix added: `h.0...` ->
// `transformer.h.0...`) and vice versa (prefix removed: `bert.embeddings...` -> `embeddings...`).
TensorMap match_checkpoint_keys(const PreTrainedModel& model, TensorMap state) {
  const nn::StateDict own = model.state_dict();
  std::set<std::string> buffers;
  for (const auto& [name, b] : model.named_buffers()) {
    (void)b;
    if (!own.count(name)) buffers.insert(name);
  }
  auto drop_buffers = [&](TensorMap& m) {
    for (auto it = m.begin(); it != m.end();) {
      const std::string& k = it->first;
      const bool is_buffer_name = buffers.count(k) != 0 || k.ends_with(".attn.bias") ||
                                  k.ends_with(".attn.masked_bias") || k.ends_with("rotary_emb.inv_freq");
      it = (!own.count(k) && is_buffer_name) ? m.erase(it) : std::next(it);
    }
  };
  drop_buffers(state);
  std::size_t matched = 0;
  for (const auto& [k, v] : state) matched += own.count(k);
  if (matched == state.size()) return state;
  // Try one prefix component added to, or removed from, every checkpoint key.
  std::set<std::string> prefixes;
  for (const auto& [k, v] : own)
    if (auto dot = k.find('.'); dot != std::string::npos) prefixes.insert(k.substr(0, dot));
  for (const auto& [k, v] : state)
    if (auto dot = k.find('.'); dot != std::string::npos) prefixes.insert(k.substr(0, dot));
  TensorMap best = state;
  std::size_t best_matched = matched;
  for (const std::string& p : prefixes) {
    TensorMap added, removed;
    std::size_t n_added = 0, n_removed = 0;
    for (const auto& [k, v] : state) {
      auto known = [&](const std::string& name) { return own.count(name) || buffers.count(name); };
      const std::string a = p + "." + k;
      added[known(a) ? a : k] = v;
      n_added += own.count(a) || own.count(k);
      const bool strip = k.rfind(p + ".", 0) == 0 && known(k.substr(p.size() + 1));
      removed[strip ? k.substr(p.size() + 1) : k] = v;
      n_removed += strip || own.count(k);
    }
    if (n_added > best_matched) best = added, best_matched = n_added;
    if (n_removed > best_matched) best = removed, best_matched = n_removed;
  }
  drop_buffers(best);
  return best;
}

}  // namespace

ModelPtr from_pretrained(const std::filesystem::path& dir, const LoadOptions& options) {
  if (!std::filesystem::is_directory(dir))
    throw IoError("[models] from_pretrained: '" + dir.string() + "' is not a directory");
  const std::unique_ptr<HfConfig> config = load_hf_config(dir / "config.json");
  ModelPtr model;
  {
    // The checkpoint overwrites every weight: skip drawing them (transformers' no_init_weights).
    NoInitGuard no_init;
    model = from_config(*config);
  }
  TensorMap state = match_checkpoint_keys(
      *model, load_safetensors_dir(dir.string(), options.dtype.value_or(kFloat32)));
  // The checkpoint stores each tied group once, under either name.
  for (const auto& [tied, source] : model->tied_weights()) {
    const bool has_tied = state.count(tied) != 0;
    const bool has_source = state.count(source) != 0;
    if (!has_tied && has_source) state[tied] = state[source];
    if (has_tied && !has_source) state[source] = state[tied];
  }
  if (options.dtype) model->to(*options.dtype);
  try {
    model->load_state_dict(state, options.strict);
  } catch (const Error& e) {
    throw ValueError("[models] " + dir.string() + ": checkpoint does not fit " +
                     config->class_name() + ": " + e.what());
  }
  model->eval();
  return model;
}

}  // namespace peftcpp::models
