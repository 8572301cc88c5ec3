// The optimizer golden checker: rebuilds each case from meta.json, runs the training loop of
// optim/README.md with peftcpp, and compares every key of expected.safetensors (and flags keys
// peftcpp produces that the reference does not have, e.g. a gradient that should be None).
#include "nn/optim/golden_check.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nn/functional.h"
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "io/golden/golden_case.h"
#include "io/safetensors/tensor_io.h"
#include "nn/optim/golden_io.h"
#include "nn/optim/golden_model.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"

namespace peftcpp::nn::optim {
namespace {

using golden_detail::GoldenNet;
using golden_detail::ParamSpec;
using json = nlohmann::json;
using TensorMap = std::map<std::string, Tensor>;

std::string kind_of(const std::string& key) {
  if (key == "loss" || key == "micro_loss")
    return "loss";
  if (key == "lr" || key == "lr_schedule" || key == "lr_lambda")
    return "lr";
  if (key == "grad_norm")
    return "grad_norm";
  if (key.rfind("state.", 0) == 0) {
    if (key.size() > 5 && key.compare(key.size() - 5, 5, ".step") == 0)
      return "step";
    if (key.find("exp_avg_sq") != std::string::npos)
      return "state_sq";
    return "state";
  }
  if (key.find(".grad.") != std::string::npos)
    return "grad";
  return "param";
}

std::pair<double, double> tolerance(const json& meta, const std::string& kind) {
  if (meta.contains("tolerances") && meta["tolerances"].contains(kind)) {
    const json& t = meta["tolerances"][kind];
    return {t.at(0).get<double>(), t.at(1).get<double>()};
  }
  if (kind == "state_sq")
    return {1e-9, 1e-5};
  if (kind == "loss")
    return {1e-5, 1e-5};
  if (kind == "lr")
    return {1e-12, 1e-7};
  if (kind == "step")
    return {0.0, 0.0};
  return {1e-6, 1e-5};
}

// "" when close, else "key max|diff|=x > tol y".
std::string compare(
    const std::string& key,
    const Tensor& actual,
    const Tensor& expected,
    double atol,
    double rtol) {
  if (actual.shape() != expected.shape()) {
    return key + " shape " + shape_str(actual.shape()) + " != expected " +
           shape_str(expected.shape());
  }
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double worst_excess = 0.0, worst_diff = 0.0, worst_tol = 0.0;
  bool bad = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(a[i] - e[i]), tol = atol + rtol * std::abs(e[i]);
    if (!(diff <= tol) && !(std::isnan(diff) && std::isnan(a[i]) && std::isnan(e[i]))) {
      const double excess = std::isnan(diff) ? INFINITY : diff - tol;
      if (!bad || excess > worst_excess) {
        worst_excess = excess;
        worst_diff = diff;
        worst_tol = tol;
      }
      bad = true;
    }
  }
  if (!bad)
    return "";
  std::ostringstream os;
  os.precision(3);
  os << key << " max|diff|=" << worst_diff << " > tol " << worst_tol;
  return os.str();
}

struct Case {
  json meta;
  TensorMap inputs, expected;
  std::shared_ptr<GoldenNet> model;
  std::vector<std::string> names;  // parameters in model order
};

std::unique_ptr<Optimizer> make_optimizer(const json& opt, GoldenNet& model) {
  const std::string cls = opt.at("class").get<std::string>();
  std::vector<ParamGroupSpec> groups;
  for (const json& g : opt.at("param_groups")) {
    ParamGroupSpec spec;
    for (const json& n : g.at("params"))
      spec.params.push_back(model.get_parameter(n.get<std::string>()));
    GroupOptions& o = spec.options;
    o.lr = g.at("lr").get<double>();
    if (g.contains("weight_decay"))
      o.weight_decay = g["weight_decay"].get<double>();
    if (g.contains("momentum"))
      o.momentum = g["momentum"].get<double>();
    if (g.contains("dampening"))
      o.dampening = g["dampening"].get<double>();
    if (g.contains("nesterov"))
      o.nesterov = g["nesterov"].get<bool>();
    if (g.contains("betas")) {
      o.beta1 = g["betas"].at(0).get<double>();
      o.beta2 = g["betas"].at(1).get<double>();
    }
    if (g.contains("eps"))
      o.eps = g["eps"].get<double>();
    if (g.contains("amsgrad"))
      o.amsgrad = g["amsgrad"].get<bool>();
    if (g.contains("maximize"))
      o.maximize = g["maximize"].get<bool>();
    groups.push_back(std::move(spec));
  }
  if (cls == "torch.optim.SGD")
    return std::make_unique<SGD>(groups, SGDOptions{});
  if (cls == "torch.optim.Adam")
    return std::make_unique<Adam>(groups, AdamOptions{});
  if (cls == "torch.optim.AdamW")
    return std::make_unique<AdamW>(groups, AdamWOptions{});
  throw ValueError("[golden] unsupported optimizer class '" + cls + "'");
}

std::unique_ptr<LambdaLR> make_scheduler(const json& s, Optimizer& opt) {
  if (s.is_null())
    return nullptr;
  const std::string fn = s.at("function").get<std::string>();
  const std::int64_t w = s.value("num_warmup_steps", std::int64_t{0});
  const std::int64_t t = s.value("num_training_steps", std::int64_t{0});
  if (fn == "transformers.get_linear_schedule_with_warmup") {
    return std::make_unique<LambdaLR>(get_linear_schedule_with_warmup(opt, w, t));
  }
  if (fn == "transformers.get_cosine_schedule_with_warmup") {
    return std::make_unique<LambdaLR>(
        get_cosine_schedule_with_warmup(opt, w, t, s.value("num_cycles", 0.5)));
  }
  if (fn == "transformers.get_constant_schedule_with_warmup") {
    return std::make_unique<LambdaLR>(get_constant_schedule_with_warmup(opt, w));
  }
  if (fn == "transformers.get_constant_schedule")
    return std::make_unique<LambdaLR>(get_constant_schedule(opt));
  throw ValueError("[golden] unsupported lr scheduler '" + fn + "'");
}

Tensor rows_of(const Tensor& t, std::int64_t a, std::int64_t b) {
  return t.narrow(0, a, b - a);
}

Tensor loss_of(const Case& c, const Tensor& out, std::int64_t a, std::int64_t b) {
  if (c.inputs.count("loss_weight"))
    return sum(mul(out, rows_of(c.inputs.at("loss_weight"), a, b)));
  if (c.inputs.count("target"))
    return functional::mse_loss(out, rows_of(c.inputs.at("target"), a, b));
  throw ValueError("[golden] inputs.safetensors has neither loss_weight nor target");
}

// Runs the loop of optim/README.md and returns every key it produces.
TensorMap run_case(Case& c) {
  const json& meta = c.meta;
  std::unique_ptr<Optimizer> opt_owner = make_optimizer(meta.at("optimizer"), *c.model);
  Optimizer& opt = *opt_owner;
  std::unique_ptr<LambdaLR> sched = make_scheduler(meta.value("lr_scheduler", json()), opt);
  const std::int64_t steps = meta.at("steps").get<std::int64_t>();
  const bool set_to_none =
      meta.at("zero_grad").at("call").get<std::string>().find("set_to_none=False") ==
      std::string::npos;
  const json clip = meta.value("grad_clipping", json());
  const json accum = meta.value("gradient_accumulation", json());
  std::vector<std::int64_t> aux_steps;
  if (meta.contains("aux_used_in_steps") && !meta["aux_used_in_steps"].is_null()) {
    aux_steps = meta["aux_used_in_steps"].get<std::vector<std::int64_t>>();
  }
  const Tensor& x = c.inputs.at("X");
  std::vector<std::pair<std::int64_t, std::int64_t>> micro;
  if (accum.is_null()) {
    micro.emplace_back(0, x.size(0));
  } else {
    for (const json& r : accum.at("rows"))
      micro.emplace_back(r.at(0).get<std::int64_t>(), r.at(1).get<std::int64_t>());
  }
  const auto m = static_cast<std::int64_t>(micro.size());
  const auto ng = static_cast<std::int64_t>(opt.param_groups().size());
  TensorMap out;
  std::vector<double> losses, lrs, micro_losses, norms, schedule, lambdas;
  auto record_schedule = [&] {
    for (const ParamGroup& g : opt.param_groups()) schedule.push_back(g.lr);
    if (sched)
      lambdas.push_back(sched->lr_lambda(sched->last_epoch()));
  };
  if (sched)
    record_schedule();
  for (std::int64_t k = 1; k <= steps; ++k) {
    opt.zero_grad(set_to_none);
    for (const ParamGroup& g : opt.param_groups()) lrs.push_back(g.lr);
    const bool use_aux = std::find(aux_steps.begin(), aux_steps.end(), k) != aux_steps.end();
    Tensor total;
    for (auto [a, b] : micro) {
      Tensor l = loss_of(c, c.model->forward(rows_of(x, a, b), use_aux), a, b);
      micro_losses.push_back(l.item<double>());
      Tensor scaled = m == 1 ? l : div(l, static_cast<double>(m));
      scaled.backward();
      total = total.defined() ? add(total.detach(), scaled.detach()) : scaled.detach();
    }
    losses.push_back(total.item<double>());
    if (!clip.is_null()) {
      norms.push_back(clip_grad_norm_(
          c.model->parameters(), clip.at("max_norm").get<double>(), clip.value("norm_type", 2.0)));
    }
    for (const std::string& n : c.names) {
      Tensor g = c.model->get_parameter(n).grad();
      if (g.defined())
        out["step" + std::to_string(k) + ".grad." + n] = g.clone();
    }
    opt.step();
    if (sched) {
      sched->step();
      record_schedule();
    }
    for (const std::string& n : c.names) {
      out["step" + std::to_string(k) + ".param." + n] = c.model->get_parameter(n).detach().clone();
    }
  }
  out["loss"] = tensor_from_doubles(losses, {steps}, kFloat32);
  out["lr"] = tensor_from_doubles(lrs, {steps, ng}, kFloat64);
  if (!accum.is_null())
    out["micro_loss"] = tensor_from_doubles(micro_losses, {steps, m}, kFloat32);
  if (!clip.is_null())
    out["grad_norm"] = tensor_from_doubles(norms, {steps}, kFloat32);
  if (sched) {
    out["lr_schedule"] = tensor_from_doubles(schedule, {steps + 1, ng}, kFloat64);
    out["lr_lambda"] = tensor_from_doubles(lambdas, {steps + 1}, kFloat64);
  }
  for (const std::string& n : c.names) {
    const ParamState* st = opt.state(c.model->get_parameter(n));
    if (!st)
      continue;
    for (const auto& [key, v] : *st) out["state." + n + "." + key] = v;
  }
  return out;
}

}  // namespace

GoldenCaseResult check_optim_case(const std::string& case_dir) {
  namespace fs = std::filesystem;
  GoldenCaseResult r;
  r.name = fs::path(case_dir).filename().string();
  try {
    Case c;
    c.meta =
        json::parse(golden_detail::read_text_file((fs::path(case_dir) / "meta.json").string()));
    for (auto& [k, v] : load_safetensors((fs::path(case_dir) / "inputs.safetensors").string()))
      c.inputs.emplace(k, golden::on_device(v));
    c.expected =
        load_safetensors((fs::path(case_dir) / "expected.safetensors").string());
    const TensorMap init =
        load_safetensors((fs::path(case_dir) / "model.safetensors").string());
    const json& model = c.meta.at("model");
    std::vector<ParamSpec> specs;
    for (const json& p : model.at("parameters")) {
      specs.push_back(
          {p.at("name").get<std::string>(),
           p.at("shape").get<Shape>(),
           p.at("requires_grad").get<bool>()});
      c.names.push_back(specs.back().name);
    }
    c.model = std::make_shared<GoldenNet>(
        model.at("kind").get<std::string>(),
        specs,
        model.value("activation", std::string("tanh")),
        model.value("scaling", 1.0));
    c.model->load_state_dict(StateDict(init.begin(), init.end()), /*strict=*/true);
    c.model->to(golden::device());
    const TensorMap actual = run_case(c);
    for (const auto& [key, expected] : c.expected) {
      auto it = actual.find(key);
      if (it == actual.end()) {
        r.message = key + " expected but not produced";
        return r;
      }
      auto [atol, rtol] = tolerance(c.meta, kind_of(key));
      std::string msg = compare(key, it->second.to(kCPU), expected, atol, rtol);
      ++r.keys_checked;
      if (!msg.empty()) {
        r.message = msg;
        return r;
      }
    }
    for (const auto& [key, t] : actual) {
      if (!c.expected.count(key)) {
        r.message = key + " produced but absent from expected.safetensors";
        return r;
      }
    }
    r.passed = true;
  } catch (const std::exception& e) {
    r.message = std::string("exception: ") + e.what();
  }
  return r;
}

std::vector<GoldenCaseResult> check_optim_golden(const std::string& optim_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> cases;
  for (fs::directory_iterator it(optim_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory() && fs::exists(it->path() / "meta.json"))
      cases.push_back(it->path().string());
  }
  if (ec)
    throw IoError("[golden] cannot list " + optim_dir + ": " + ec.message());
  std::sort(cases.begin(), cases.end());
  std::vector<GoldenCaseResult> out;
  for (const std::string& c : cases) out.push_back(check_optim_case(c));
  return out;
}

}  // namespace peftcpp::nn::optim
