// HfConfig: PretrainedConfig fields, to_diff_dict writing, config.json loading and dispatch.
#include "io/json/hf_config.h"

#include <system_error>

#include "io/json/field_visitor.h"
#include "tensor/error.h"

namespace peftcpp {

using json_detail::FieldContext;
using json_detail::FieldKind;
using json_detail::FieldVisitor;

void from_json(const Json& j, TokenIds& out) {
  if (j.is_null()) {
    out = TokenIds();
  } else if (j.is_array()) {
    std::vector<std::int64_t> ids;
    from_json(j, ids);
    out = TokenIds(std::move(ids));
  } else {
    std::int64_t id = 0;
    from_json(j, id);
    out = TokenIds(id);
  }
}

Json to_json(const TokenIds& v) {
  if (v.is_none()) {
    return Json();
  }
  return v.is_list() ? to_json(v.ids()) : Json(v.ids().front());
}

namespace {

FieldVisitor make_visitor(const HfConfig& c, FieldVisitor::Mode mode, const JsonObject* src) {
  return FieldVisitor(mode, src, FieldContext{"[hf_config]", c.class_name(), c.source()});
}

// PretrainedConfig alone: its defaults decide which common attributes to_diff_dict writes.
class PretrainedDefaults : public HfConfig {
 public:
  const char* model_type() const override {
    return "";
  }
  const char* class_name() const override {
    return "PretrainedConfig";
  }
  std::unique_ptr<HfConfig> clone() const override {
    return std::make_unique<PretrainedDefaults>(*this);
  }
  HfDims dims() const override {
    return {0, 0, 0, 0};
  }
  Json fields() {
    FieldVisitor v = make_visitor(*this, FieldVisitor::Mode::Write, nullptr);
    visit_fields(v);
    return Json(std::move(v.output()));
  }

 protected:
  std::unique_ptr<HfConfig> make_default() const override {
    return std::make_unique<PretrainedDefaults>();
  }
};

}  // namespace

HfConfig::~HfConfig() = default;

void HfConfig::visit_fields(FieldVisitor& v) {
  if (v.mode() == FieldVisitor::Mode::Write) {
    std::string type = model_type();
    v("model_type", type);
  } else if (v.mode() == FieldVisitor::Mode::Read) {
    std::optional<std::string> type;
    v("model_type", type);
    if (type && *type != model_type()) {
      v.fail("model_type", "is '" + *type + "', expected '" + model_type() + "'");
    }
  }
  v.common("architectures", architectures);
  v.common("bos_token_id", bos_token_id);
  v.common("eos_token_id", eos_token_id);
  v.common("pad_token_id", pad_token_id);
  v.common("sep_token_id", sep_token_id);
  v.common("decoder_start_token_id", decoder_start_token_id);
  v.common("tie_word_embeddings", tie_word_embeddings);
  v.common("is_encoder_decoder", is_encoder_decoder);
  v.common("torch_dtype", torch_dtype);
  v.common("problem_type", problem_type);
  v.common("id2label", id2label);
  v.common("label2id", label2id);
}

void HfConfig::resolve(FieldVisitor& v) {
  if (!label2id.is_null() && !label2id.is_object()) {
    v.fail("label2id", std::string("must be an object, got ") + label2id.type_name());
  }
  if (problem_type && *problem_type != "regression" &&
      *problem_type != "single_label_classification" &&
      *problem_type != "multi_label_classification") {
    v.fail(
        "problem_type",
        "must be 'regression', 'single_label_classification' or "
        "'multi_label_classification', got '" +
            *problem_type + "'");
  }
}

void HfConfig::set_num_labels(std::int64_t n) {
  PEFTCPP_CHECK_T(ConfigError, n >= 0, "[hf_config] num_labels must be >= 0, got ", n);
  id2label.clear();
  JsonObject reverse;
  for (std::int64_t i = 0; i < n; ++i) {
    id2label.emplace_back(i, "LABEL_" + std::to_string(i));
    reverse.set("LABEL_" + std::to_string(i), Json(i));
  }
  label2id = Json(std::move(reverse));
}

void HfConfig::fail_key(std::string_view key, std::string_view what) const {
  make_visitor(*this, FieldVisitor::Mode::Validate, nullptr).fail(key, what);
}

void HfConfig::throw_bad_cast(std::string_view wanted) const {
  fail_key("", std::string("is a ") + class_name() + ", not a " + std::string(wanted));
}

void HfConfig::post_init() {
  FieldVisitor v = make_visitor(*this, FieldVisitor::Mode::Validate, nullptr);
  resolve(v);
  visit_fields(v);  // per-field checks
}

void HfConfig::load(const JsonObject& obj, std::string source) {
  source_ = std::move(source);
  FieldVisitor v = make_visitor(*this, FieldVisitor::Mode::Read, &obj);
  visit_fields(v);
  // PretrainedConfig pops num_labels: it only sizes id2label when id2label is not given.
  if (const Json* n = obj.find("num_labels")) {
    std::int64_t labels = 0;
    try {
      from_json(*n, labels);
    } catch (const Error& e) {
      v.fail("num_labels", std::string_view(e.what()).substr(7));
    }
    if (!v.consumed("id2label")) {
      set_num_labels(labels);
    } else if (labels != num_labels()) {
      v.warn(
          "num_labels",
          "is " + std::to_string(labels) + " but id2label has " + std::to_string(num_labels()) +
              " labels; id2label wins");
    }
  }
  extra_.clear();
  for (const auto& [key, value] : obj) {
    if (!v.consumed(key) && key != "num_labels") {
      extra_.set(key, value);
    }
  }
  loaded_ = obj;
  post_init();
}

Json HfConfig::to_json() const {
  std::unique_ptr<HfConfig> self = clone();
  self->post_init();
  FieldVisitor v = make_visitor(*this, FieldVisitor::Mode::Write, &loaded_);
  self->visit_fields(v);

  const Json pretrained = PretrainedDefaults().fields();
  std::unique_ptr<HfConfig> class_default = make_default();
  class_default->post_init();
  FieldVisitor dv = make_visitor(*class_default, FieldVisitor::Mode::Write, nullptr);
  class_default->visit_fields(dv);
  const JsonObject& class_fields = dv.output();

  JsonObject out;
  for (const auto& [key, kind] : v.kinds()) {
    const Json& value = v.output().at(key);
    if (kind == FieldKind::Common && !loaded_.contains(key)) {
      // to_diff_dict: a PretrainedConfig attribute is written when it differs from
      // PretrainedConfig's default or from the model class's default.
      const Json* p = pretrained.find(key);
      const Json* c = class_fields.find(key);
      const bool differs = (p == nullptr || !json_equal_numeric(value, *p)) ||
                           (c != nullptr && !json_equal_numeric(value, *c));
      if (!differs) {
        continue;
      }
    }
    out.set(key, value);
  }
  for (const auto& [key, value] : extra_) {
    if (!out.contains(key)) {
      out.set(key, value);
    }
  }
  return Json(std::move(out));
}

std::string HfConfig::to_json_string() const {
  return peftcpp::to_json_string(to_json());
}

void HfConfig::save(const std::filesystem::path& file) const {
  JsonDumpOptions o;
  o.trailing_newline = true;
  write_json_file(file, to_json(), o);
}

void HfConfig::save_pretrained(const std::filesystem::path& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw IoError("[hf_config] cannot create folder " + dir.string() + ": " + ec.message());
  }
  save(dir / "config.json");
}

std::unique_ptr<HfConfig> hf_config_from_json(const Json& json, std::string_view source) {
  const std::string where = source.empty() ? std::string("<json>") : std::string(source);
  if (!json.is_object()) {
    throw ConfigError("[hf_config] " + where + ": expected a JSON object, got " + json.type_name());
  }
  const Json* type = json.find("model_type");
  if (type == nullptr || !type->is_string()) {
    throw ConfigError("[hf_config] " + where + ": model_type: missing or not a string");
  }
  const std::string& t = type->as_string();
  std::unique_ptr<HfConfig> config;
  if (t == LlamaConfig::kModelType) {
    config = std::make_unique<LlamaConfig>();
  } else if (t == MistralConfig::kModelType) {
    config = std::make_unique<MistralConfig>();
  } else if (t == Qwen2Config::kModelType) {
    config = std::make_unique<Qwen2Config>();
  } else if (t == GPT2Config::kModelType) {
    config = std::make_unique<GPT2Config>();
  } else if (t == BertConfig::kModelType) {
    config = std::make_unique<BertConfig>();
  } else if (t == T5Config::kModelType) {
    config = std::make_unique<T5Config>();
  } else {
    throw ConfigError(
        "[hf_config] " + where + ": model_type: unsupported '" + t +
        "'; known: llama, mistral, qwen2, gpt2, bert, t5");
  }
  config->load(json.as_object(), std::string(source));
  return config;
}

std::unique_ptr<HfConfig> load_hf_config(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::path file =
      std::filesystem::is_directory(path, ec) ? path / "config.json" : path;
  return hf_config_from_json(Json::parse_file(file), file.string());
}

}  // namespace peftcpp
