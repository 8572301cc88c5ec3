// AdaLoRA's RankAllocator and update_and_allocate against hand computations: the cubic budget
// schedule, the EMA sensitivity / uncertainty of every adapter tensor over several training
// steps, the triplet scores and the kth-value threshold that masks lora_E, the recorded rank
// pattern, the final allocation and the masking after it; and the orthogonal regularisation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "nn/layers/linear.h"
#include "peft/tuners/lora/config.h"
#include "tests/peft/adalora/adalora_test_util.h"

using namespace peftcpp;

namespace {

struct Stats {
  std::vector<double> ipt, avg, unc;
};

// A hand-written RankAllocator in double precision.
struct Reference {
  double beta1, beta2;
  std::map<std::string, Stats> stats;
  std::map<std::string, Shape> shapes;

  void update(PeftModel& model) {
    for (const auto& [n, p] : model.get_base_model()->named_parameters()) {
      if (n.find("lora_") == std::string::npos)
        continue;
      const auto pv = test::values(p);
      const auto gv = test::values(p.grad());
      Stats& s = stats[n];
      shapes[n] = p.shape();
      if (s.avg.empty())
        s.avg.assign(pv.size(), 0.0), s.unc.assign(pv.size(), 0.0);
      s.ipt.resize(pv.size());
      for (std::size_t i = 0; i < pv.size(); ++i) {
        s.ipt[i] = std::abs(pv[i] * gv[i]);
        s.avg[i] = beta1 * s.avg[i] + (1 - beta1) * s.ipt[i];
        s.unc[i] = beta2 * s.unc[i] + (1 - beta2) * std::abs(s.ipt[i] - s.avg[i]);
      }
    }
  }

  // score of each triplet of `layer`: s(E_i) + mean_j s(A_ij) + mean_j s(B_ji)
  std::vector<double> scores(const std::string& layer) {
    const Stats& a = stats.at(layer + ".lora_A.default");
    const Stats& b = stats.at(layer + ".lora_B.default");
    const Stats& e = stats.at(layer + ".lora_E.default");
    const Shape& sa = shapes.at(layer + ".lora_A.default");
    const Shape& sb = shapes.at(layer + ".lora_B.default");
    const std::int64_t r = sa[0], in = sa[1], out = sb[0];
    std::vector<double> out_scores(static_cast<std::size_t>(r));
    for (std::int64_t i = 0; i < r; ++i) {
      double sum_a = 0, sum_b = 0;
      for (std::int64_t j = 0; j < in; ++j) sum_a += a.avg[i * in + j] * a.unc[i * in + j];
      for (std::int64_t j = 0; j < out; ++j) sum_b += b.avg[j * r + i] * b.unc[j * r + i];
      out_scores[i] = e.avg[i] * e.unc[i] + (sum_a / in + sum_b / out);
    }
    return out_scores;
  }
};

std::unique_ptr<AdaLoraConfig> schedule_config() {
  auto c = test::adalora_config({"lin0", "lin1"}, 3, 1, 6);
  c->tinit = 0;
  c->tfinal = 1;
  c->deltaT = 1;
  c->beta1 = 0.5;
  c->beta2 = 0.75;
  return c;
}

Tensor loss_of(PeftModel& model, const Tensor& x, const Tensor& w) {
  return sum(model.forward(x) * w);
}

void sgd_step(PeftModel& model) {
  NoGradGuard g;
  for (auto [n, p] : model.named_parameters()) {
    if (p.requires_grad() && p.grad().defined())
      p.add_(p.grad(), -1e-2);
  }
}

}  // namespace

TEST_CASE("the budget follows PEFT's cubic schedule between tinit and total_step - tfinal") {
  auto cfg = test::adalora_config({"lin0", "lin1"}, 4, 2, 10);
  cfg->tinit = 2;
  cfg->tfinal = 3;
  cfg->deltaT = 2;
  auto model = get_peft_model(test::make_mlp(), std::move(cfg));
  auto& alloc = test::tuner(*model).rank_allocator();
  CHECK(alloc.init_bgt() == 8);
  CHECK(alloc.target_bgt() == 4);
  CHECK(alloc.name_set() == std::vector<std::string>{"lin0.%s.default", "lin1.%s.default"});
  const auto& c = model->peft_config("default").as<AdaLoraConfig>();
  using P = std::pair<std::int64_t, bool>;
  CHECK(alloc.budget_schedule(0, c) == P{8, false});
  CHECK(alloc.budget_schedule(2, c) == P{8, false});
  CHECK(alloc.budget_schedule(3, c) == P{6, false});  // 4 * 0.8^3 + 4 = 6.048, 3 % 2 != 0
  CHECK(alloc.budget_schedule(4, c) == P{4, true});   // 4 * 0.6^3 + 4 = 4.864
  CHECK(alloc.budget_schedule(7, c) == P{4, false});  // mul = 0
  CHECK(alloc.budget_schedule(8, c) == P{4, true});   // final phase
}

TEST_CASE("update_and_allocate matches hand-computed importance scores, budgets and masks") {
  auto base = test::make_mlp(2);
  auto model = get_peft_model(base, schedule_config());
  model->eval();
  auto& ada = test::tuner(*model);
  auto& config = model->peft_config("default").as<AdaLoraConfig>();
  {
    // small random triplets keep the SGD steps below stable
    NoGradGuard g;
    for (auto [n, p] : model->named_parameters()) {
      if (n.find("lora_") != std::string::npos)
        p.mul_(0.1);
    }
  }
  manual_seed(5);
  const Tensor x = randn({4, 16});
  const Tensor w = randn({4, 8});
  Reference ref{0.5, 0.75, {}, {}};
  // budgets for steps 1..5: int(4 * (1 - step / 5)^3 + 2)
  const std::vector<std::int64_t> budget = {6, 4, 2, 2, 2, 2};
  for (std::int64_t step = 0; step <= 5; ++step) {
    CAPTURE(step);
    model->zero_grad();
    loss_of(*model, x, w).backward();
    sgd_step(*model);
    std::map<std::string, std::vector<double>> e_before;
    for (const std::string layer : {"lin0", "lin1"}) {
      e_before[layer] = test::values(test::ada_layer(*model, layer)->lora_E().at("default"));
    }
    if (step < 5)
      ref.update(*model);
    ada.update_and_allocate(step);
    if (step < 5) {
      for (const auto& [n, s] : ref.stats) {
        CAPTURE(n);
        const auto avg = test::values(ada.rank_allocator().exp_avg_ipt().at(n));
        const auto unc = test::values(ada.rank_allocator().exp_avg_unc().at(n));
        const auto ipt = test::values(ada.rank_allocator().ipt().at(n));
        for (std::size_t i = 0; i < avg.size(); ++i) {
          CHECK(ipt[i] == doctest::Approx(s.ipt[i]).epsilon(1e-5));
          CHECK(avg[i] == doctest::Approx(s.avg[i]).epsilon(1e-5));
          CHECK(unc[i] == doctest::Approx(s.unc[i]).epsilon(1e-4));
        }
      }
    } else {
      CHECK(ada.rank_allocator().exp_avg_ipt().empty());  // reset after the final allocation
    }
    if (step == 0) {
      CHECK(config.rank_pattern.is_null());  // warmup: no masking
      continue;
    }
    std::vector<double> all;
    for (const std::string layer : {"lin0", "lin1"}) {
      for (double s : ref.scores(layer)) all.push_back(s);
    }
    std::sort(all.begin(), all.end());
    const double threshold = all[static_cast<std::size_t>(6 - budget[step] - 1)];
    int kept = 0;
    for (const std::string layer : {"lin0", "lin1"}) {
      const auto scores = ref.scores(layer);
      const auto e = test::values(test::ada_layer(*model, layer)->lora_E().at("default"));
      const Json& pattern = config.rank_pattern.at(layer + ".lora_E.default");
      REQUIRE(pattern.as_array().size() == 3);
      for (std::size_t i = 0; i < 3; ++i) {
        const bool keep = !(scores[i] <= threshold);
        kept += keep ? 1 : 0;
        CHECK(pattern.as_array()[i].as_bool() == keep);
        CHECK(e[i] == (keep ? e_before[layer][i] : 0.0));
      }
    }
    CHECK(kept == budget[step]);
  }
  // after the final allocation the pattern is re-applied to whatever training did to lora_E
  const Json final_pattern = config.rank_pattern;
  for (const std::string layer : {"lin0", "lin1"}) {
    NoGradGuard g;
    test::ada_layer(*model, layer)->lora_E().at("default").fill_(1.0);
  }
  ada.update_and_allocate(6);
  CHECK(config.rank_pattern == final_pattern);
  for (const std::string layer : {"lin0", "lin1"}) {
    const auto e = test::values(test::ada_layer(*model, layer)->lora_E().at("default"));
    const JsonArray& keep = final_pattern.at(layer + ".lora_E.default").as_array();
    for (std::size_t i = 0; i < 3; ++i) CHECK(e[i] == (keep[i].as_bool() ? 1.0 : 0.0));
  }
}

TEST_CASE("mask_using_rank_pattern accepts keys without the adapter name") {
  auto model = get_peft_model(test::make_mlp(), schedule_config());
  Json pattern = Json::object();
  pattern.as_object().set("lin0.lora_E", Json(JsonArray{true, false, true}));
  pattern.as_object().set("lin1.lora_E", Json(JsonArray{false, false, true}));
  test::tuner(*model).rank_allocator().mask_using_rank_pattern(*model->get_base_model(), pattern);
  const auto e0 = test::values(test::ada_layer(*model, "lin0")->lora_E().at("default"));
  const auto e1 = test::values(test::ada_layer(*model, "lin1")->lora_E().at("default"));
  CHECK(e0[0] != 0.0);
  CHECK(e0[1] == 0.0);
  CHECK(e0[2] != 0.0);
  CHECK(e1[0] == 0.0);
  CHECK(e1[1] == 0.0);
  CHECK(e1[2] != 0.0);
  pattern.as_object().erase("lin1.lora_E");
  CHECK_THROWS_WITH_AS(
      test::tuner(*model).rank_allocator().mask_using_rank_pattern(
          *model->get_base_model(), pattern),
      "[adalora] rank_pattern has no entry 'lin1.lora_E'",
      ValueError);
}

TEST_CASE("update_and_allocate without gradients, or to the full budget, is an error") {
  auto model = get_peft_model(test::make_mlp(), schedule_config());
  CHECK_THROWS_WITH_AS(
      test::tuner(*model).update_and_allocate(1),
      "[adalora] update_and_allocate: parameter 'lin0.lora_A.default' has no gradient; call it "
      "after loss.backward() and before zero_grad()",
      ValueError);
  loss_of(*model, randn({2, 16}), randn({2, 8})).backward();
  auto& alloc = test::tuner(*model).rank_allocator();
  alloc.update_ipt(*model->get_base_model());
  CHECK_THROWS_AS(alloc.mask_to_budget(*model->get_base_model(), alloc.init_bgt()), ValueError);
}

TEST_CASE("a first adapter in inference mode is frozen and has no rank allocator") {
  auto cfg = schedule_config();
  cfg->inference_mode = true;
  auto model = get_peft_model(test::make_mlp(), std::move(cfg));
  for (const auto& [n, p] : model->named_parameters()) CHECK_FALSE(p.requires_grad());
  CHECK_THROWS_AS(test::tuner(*model).update_and_allocate(1), ValueError);
  CHECK_THROWS_AS(test::tuner(*model).orth_reg_loss(), ValueError);
}

TEST_CASE("beta1 / beta2 outside (0, 1) are rejected before the model is changed") {
  auto base = test::make_mlp();
  auto cfg = schedule_config();
  cfg->beta1 = 1.0;
  CHECK_THROWS_AS(get_peft_model(base, std::move(cfg)), ValueError);
  CHECK(dynamic_cast<nn::Linear*>(base->get_submodule("lin0").get()) != nullptr);
}

TEST_CASE("orth_reg_loss is the mean of ||A A^T - I||_F and ||B^T B - I||_F; the loss adds it") {
  auto cfg = test::adalora_config({"m"}, 2);
  cfg->orth_reg_weight = 0.5;
  auto model = get_peft_model(test::one_layer(test::linear_spec(3, 2)), std::move(cfg));
  auto l = test::ada_layer(*model, "m");
  // A = [[1, 2, 3], [0, 1, -1]]: A A^T = [[14, -1], [-1, 2]], minus I: [[13, -1], [-1, 1]]
  // B = [[1, 0], [2, -1]]: B^T B = [[5, -2], [-2, 1]], minus I: [[4, -2], [-2, 0]]
  test::set_triplets(*l, {1, 2, 3, 0, 1, -1}, {1, 1}, {1, 0, 2, -1});
  const double want = (std::sqrt(169.0 + 1 + 1 + 1) + std::sqrt(16.0 + 4 + 4)) / 2;
  CHECK(test::tuner(*model).orth_reg_loss().item<double>() == doctest::Approx(want).epsilon(1e-6));
  const Tensor task = scalar_tensor(3.0);
  CHECK(
      model->add_regularization(task).item<double>() ==
      doctest::Approx(3.0 + 0.5 * want).epsilon(1e-6));
  // gradients flow into A and B through the regulariser
  model->zero_grad();
  test::tuner(*model).orth_reg_loss().backward();
  CHECK(l->lora_A().at("default").grad().defined());
  CHECK(l->lora_B().at("default").grad().defined());
}

TEST_CASE("other methods leave the loss unchanged in add_regularization") {
  auto cfg = std::make_unique<LoraConfig>();
  cfg->target_modules = ModuleNames({"lin0"});
  auto model = get_peft_model(test::make_mlp(), std::move(cfg));
  const Tensor loss = scalar_tensor(2.5);
  CHECK(model->add_regularization(loss).is_same(loss));
}
