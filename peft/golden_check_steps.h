// The checks of one golden `peft` case (internal to peft/golden_check.cpp): each step rebuilds
// the base model, loads the adapter through PeftModel::from_pretrained and compares with
// expected.safetensors under meta.json's tolerances. A step returns "" or the first mismatch.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "io/golden/golden_case.h"
#include "peft/peft_model.h"

namespace peftcpp::peft {

class GoldenCase {
 public:
  GoldenCase(std::filesystem::path dir, Json meta);
  /// output.base, param.*, the trainable set, output.adapter, loss, grad.*,
  /// output.adapter_disabled (or output.base when the base weights are not changed by init).
  std::string check_base_and_adapter();
  /// output.merged and merged.* after merge_and_unload (when the case has them).
  std::string check_merge();
  /// sgd.loss, sgd.step3.*, sgd.output_after: 3 plain SGD steps, lr 0.1 (when present).
  std::string check_sgd();
  /// Prompt learning only: the trained encoder saves the adapter file's tensors, and
  /// from_pretrained (inference mode, prompt from the file) reproduces output.adapter.
  std::string check_prompt_reload();

 private:
  nn::ModulePtr build_base() const;
  Tensor run(nn::Module& model) const;
  /// The adapter as PEFT's from_pretrained loads it; trainable prompt learning adapters are
  /// rebuilt instead (their file holds only the final prompt, not the encoder): a new adapter of
  /// the file's config whose parameters get the param.* values.
  std::shared_ptr<PeftModel> load(bool trainable) const;
  std::shared_ptr<PeftModel> rebuild_prompt_learning() const;
  std::string compare(const std::string& key, const Tensor& actual, const char* tol) const;
  bool has(const std::string& key) const {
    return expected_.count(key) != 0;
  }

  std::filesystem::path dir_;
  Json meta_;
  bool transformers_ = false;
  bool prompt_learning_ = false;
  TensorMap inputs_;
  TensorMap expected_;
};

}  // namespace peftcpp::peft
