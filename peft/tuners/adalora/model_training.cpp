// AdaLoraModel during training: the orthogonal regularisation PEFT adds to the loss in
// AdaLoraModel.forward, and update_and_allocate (port of peft/tuners/adalora/model.py @5d602fd).
#include "peft/tuners/adalora/model.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace peftcpp::adalora {

const std::string& AdaLoraModel::trainable_adapter_name() const {
  PEFTCPP_CHECK(
      trainable_adapter_.has_value(),
      "[adalora] this AdaLoraModel has no trainable adapter: its first adapter was added in "
      "inference mode (load it with is_trainable=true to train)");
  return *trainable_adapter_;
}

RankAllocator& AdaLoraModel::rank_allocator() {
  trainable_adapter_name();
  return *rankallocator_;
}

void AdaLoraModel::update_and_allocate(std::int64_t global_step) {
  RankAllocator& allocator = rank_allocator();
  auto& config = peft_config(trainable_adapter_name()).as<AdaLoraConfig>();
  PEFTCPP_CHECK(config.total_step.has_value(), "[adalora] update_and_allocate needs total_step");
  const std::int64_t final_step = *config.total_step - config.tfinal;
  if (global_step < final_step) {
    // importance scores, and masking when the schedule says so
    Json rank_pattern = allocator.update_and_allocate(*model_, config, global_step).second;
    if (rank_pattern.is_object() && !rank_pattern.as_object().empty()) {
      config.rank_pattern = std::move(rank_pattern);
    }
  } else if (global_step == final_step) {
    // the final allocation: mask to the target budget and keep the pattern
    config.rank_pattern = allocator.update_and_allocate(*model_, config, global_step, true).second;
    allocator.reset_ipt();
  } else {
    // PEFT keeps the layers at init_r and re-applies the mask after every optimizer step
    allocator.mask_using_rank_pattern(*model_, config.rank_pattern);
  }
}

Tensor AdaLoraModel::orth_reg_loss() const {
  const std::string& adapter = trainable_adapter_name();
  Tensor total;
  int count = 0;
  for (const auto& [n, p] : model_->named_parameters()) {
    const bool is_a = n.find("lora_A") != std::string::npos;
    const bool is_b = n.find("lora_B") != std::string::npos;
    if ((!is_a && !is_b) || n.find(adapter) == std::string::npos)
      continue;
    const Tensor cov = is_a ? matmul(p, p.t()) : matmul(p.t(), p);
    const Tensor term = norm(cov - eye(cov.size(0), cov.size(1), cov.dtype()));
    total = total.defined() ? total + term : term;
    ++count;
  }
  if (count == 0)
    return zeros({});
  return total / static_cast<double>(count);
}

Tensor AdaLoraModel::add_regularization(const Tensor& loss) const {
  const double weight = peft_config(trainable_adapter_name()).as<AdaLoraConfig>().orth_reg_weight;
  PEFTCPP_CHECK(
      weight >= 0, "[adalora] orth_reg_weight should be greater than or equal to 0, got ", weight);
  return loss + orth_reg_loss().to(loss.dtype()) * weight;
}

}  // namespace peftcpp::adalora
