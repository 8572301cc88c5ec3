// Builders from tokenizer.json values (internal header; nlohmann only in the loader files).
#pragma once

#include <memory>

#include "io/tokenizer/decoders.h"
#include "io/tokenizer/json_access.h"
#include "io/tokenizer/models.h"
#include "io/tokenizer/normalizers.h"
#include "io/tokenizer/post_processors.h"
#include "io/tokenizer/pre_tokenizers.h"

namespace peftcpp::tok {

/// The "type" of a component object (a ConfigError naming ctx when missing).
std::string type_of(const Json& j, const JsonCtx& ctx);
[[noreturn]] void unknown_type(const JsonCtx& ctx, const std::string& type);

std::unique_ptr<Normalizer> load_normalizer(const Json& j, const JsonCtx& ctx);
std::unique_ptr<PreTokenizer> load_pre_tokenizer(const Json& j, const JsonCtx& ctx);
std::unique_ptr<PostProcessor> load_post_processor(const Json& j, const JsonCtx& ctx);
std::unique_ptr<Decoder> load_decoder(const Json& j, const JsonCtx& ctx);
std::unique_ptr<Model> load_model(const Json& j, const JsonCtx& ctx);

}  // namespace peftcpp::tok
