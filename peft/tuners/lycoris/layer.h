// LycorisLayer: what LoHa and LoKr layers share (port of LycorisLayer in
// peft/tuners/lycoris_utils.py @5d602fd). Papers: FedPara (Hyeon-Woo et al. 2021,
// arXiv:2108.06098) and LyCORIS (Yeh et al. 2023, arXiv:2309.14859).
//
// A LyCORIS layer builds, per adapter, a full delta weight with the base weight's shape
// (get_delta_weight, the method's part) and adds the base operation applied with it:
//   y = base(x) + op(x, delta_weight)     op = F.linear / F.conv1d / F.conv2d without bias,
// with the base layer's stride / padding / dilation / groups. PEFT has one class per base type
// (Linear, Conv1d, Conv2d) that differ only in that op; here the op follows base_kind().
// Merging adds the delta weight to the base weight, unmerging subtracts it.
//
// Training-only randomness, as PEFT: module_dropout skips an adapter for a whole forward with
// probability p (one torch.rand(1) draw per adapter and forward), rank_dropout zeroes rows of the
// delta weight (see drop_rows). In eval mode both are inactive.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peft/tuners/adapter_dict.h"
#include "peft/tuners/base_tuner_layer.h"
#include "peft/tuners/lycoris_config.h"

namespace peftcpp::lycoris {

/// The base layer types LyCORIS methods adapt (PEFT's layers_mapping).
enum class BaseKind { Linear, Conv1d, Conv2d };

class LycorisLayer : public BaseTunerLayer {
 public:
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;

  std::map<std::string, int> r;
  std::map<std::string, double> alpha;
  std::map<std::string, double> scaling;
  std::map<std::string, double> rank_dropout;
  /// LoKr only: whether rank dropout rescales the kept rows by 1 / mean (LoHa always does).
  std::map<std::string, bool> rank_dropout_scale;
  std::map<std::string, double> module_dropout;
  /// Cast the input to the delta weight's dtype before the delta op (PEFT's
  /// cast_input_dtype_enabled).
  bool cast_input_dtype_enabled = true;

  BaseKind base_kind() const {
    return kind_;
  }
  /// "loha.Linear", "lokr.Conv2d", ...
  std::string type_name() const override;

  /// Adds (or re-creates) `adapter` with rank `rank` and `alpha` (PEFT's update_layer); `config`
  /// is the method's own config type.
  virtual void update_layer(
      const std::string& adapter, int rank, double alpha, const LycorisConfig& config) = 0;
  /// The full delta weight of `adapter`, shaped like the base weight (rank dropout applied in
  /// training mode).
  virtual Tensor get_delta_weight(const std::string& adapter) const = 0;
  /// base(x) plus the delta op of every active adapter (PEFT's LoHaLayer / LoKrLayer.forward).
  Tensor forward(const Tensor& x) override;
  /// The delta op of `adapter` alone: op(x, get_delta_weight(adapter)).
  Tensor delta_activations(const std::string& adapter, const Tensor& x) const;

  /// scaling = scale * alpha / r for `adapter` (no-op when the layer lacks it).
  void set_scale(const std::string& adapter, double scale);
  /// Multiplies the scaling of the active adapters by `scale`.
  void scale_layer(double scale);
  /// Divides it by `scale`, or resets it to alpha / r when nullopt.
  void unscale_layer(std::optional<double> scale = std::nullopt);

  std::vector<std::string> all_adapter_names() const override;
  /// The parameter container `name` (one of adapter_layer_names()).
  AdapterParameterDict& params(const std::string& name) const;

 protected:
  /// `method` prefixes type_name ("loha"); `containers` are the method's adapter_layer_names,
  /// registered as parameter dicts in that order.
  LycorisLayer(
      std::shared_ptr<nn::UnaryModule> base_layer,
      const std::string& adapter,
      const std::string& method,
      const std::vector<std::string>& containers);

  /// Records r, alpha, scaling = alpha / r and the dropouts (throws for rank <= 0).
  void set_adapter_settings(
      const std::string& adapter, int rank, double alpha, const LycorisConfig& config);
  /// Creates a zero parameter in container `name` for `adapter`, in the adapter dtype
  /// (float64 on float64 bases, else float32).
  Tensor& new_param(const std::string& name, const std::string& adapter, const Shape& shape);
  /// Kernel size of a conv base ({k} for Conv1d, {kh, kw} for Conv2d; empty for Linear).
  std::vector<std::int64_t> kernel_size() const;
  /// Groups of a conv base (1 for Linear).
  std::int64_t groups() const;
  /// Rank dropout (training only): rows of `weight` (dim 0) kept where rand > p, the mask
  /// divided by its mean when `rescale`.
  Tensor drop_rows(const Tensor& weight, double p, bool rescale) const;

  void merge_adapter(const std::string& adapter, bool safe_merge) override;
  void unmerge_adapter(const std::string& adapter) override;
  void erase_adapter_settings(const std::string& name) override;

 private:
  BaseKind kind_ = BaseKind::Linear;
  std::string method_;
  std::map<std::string, std::shared_ptr<AdapterParameterDict>> dicts_;
};

/// einsum("i j k l, i p, j r -> p r k l", t, wa, wb): the CP (Tucker) rebuild of an effective
/// conv kernel from core t [R, R, k1, k2] and factors wa [R, P], wb [R, Q] -> [P, Q, k1, k2].
Tensor rebuild_cp(const Tensor& t, const Tensor& wa, const Tensor& wb);

/// The base kind of `module` (nullopt for other module types).
std::optional<BaseKind> base_kind_of(const nn::Module& module);

}  // namespace peftcpp::lycoris
