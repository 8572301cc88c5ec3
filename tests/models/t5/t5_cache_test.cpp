// T5 incremental decoding: the self/cross KVCache, encoder_last_hidden_state reuse and
// prefix-filled caches give the logits of one full decoder forward.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "models/model.h"
#include "t5_test_util.h"

namespace peftcpp {
namespace {

using models::KVCache;
using models::ModelInputs;
using models::ModelOutput;
using models::ModelPtr;

constexpr std::int64_t kBatch = 2, kSrc = 6, kTgt = 5;

ModelPtr tiny_model(const std::string& ffn, std::uint64_t seed) {
  manual_seed(seed);
  ModelPtr m = models::from_config(t5_test::tiny_config(ffn), "T5ForConditionalGeneration");
  m->eval();
  return m;
}

struct Batch {
  Tensor input_ids, attention_mask, decoder_input_ids;
};

Batch make_batch() {
  manual_seed(7);
  Batch b;
  b.input_ids = randint(2, 40, {kBatch, kSrc});
  b.attention_mask = ones({kBatch, kSrc}, kInt64);
  b.attention_mask.select(0, 1).slice(0, kSrc - 2, kSrc).fill_(0);  // row 1 right-padded
  b.decoder_input_ids = randint(2, 40, {kBatch, kTgt});
  return b;
}

ModelOutput full_forward(models::PreTrainedModel& m, const Batch& b) {
  ModelInputs in;
  in.input_ids = b.input_ids;
  in.attention_mask = b.attention_mask;
  in.decoder_input_ids = b.decoder_input_ids;
  return m.forward(in);
}

TEST_CASE("t5 decoding one token at a time with the cache equals the full decoder forward") {
  for (const std::string ffn : {"relu", "gated-gelu"}) {
    CAPTURE(ffn);
    ModelPtr m = tiny_model(ffn, 3);
    NoGradGuard no_grad;
    const Batch b = make_batch();
    const ModelOutput full = full_forward(*m, b);
    KVCache cache;
    Tensor encoder_out;
    for (std::int64_t t = 0; t < kTgt; ++t) {
      CAPTURE(t);
      ModelInputs in;
      if (t == 0)
        in.input_ids = b.input_ids;  // the encoder runs once ...
      else
        in.encoder_last_hidden_state = encoder_out;  // ... and is reused afterwards
      in.attention_mask = b.attention_mask;
      in.decoder_input_ids = b.decoder_input_ids.slice(1, t, t + 1);
      in.past_key_values = &cache;
      in.use_cache = true;
      const ModelOutput step = m->forward(in);
      if (t == 0)
        encoder_out = step.encoder_last_hidden_state;
      REQUIRE(step.logits.shape() == Shape{kBatch, 1, 40});
      CHECK(max_abs_diff(step.logits, full.logits.slice(1, t, t + 1)) < 1e-5);
      CHECK(cache.seq_length() == t + 1);
      REQUIRE(cache.cross.size() == 3);
      CHECK(cache.cross[2].key.shape() == Shape{kBatch, 4, kSrc, 4});
    }
    CHECK(max_abs_diff(encoder_out, full.encoder_last_hidden_state) < 1e-6);
  }
}

TEST_CASE("t5 chunked decoding reuses cached cross keys/values without the encoder output") {
  ModelPtr m = tiny_model("gated-silu", 5);
  NoGradGuard no_grad;
  const Batch b = make_batch();
  const ModelOutput full = full_forward(*m, b);
  KVCache cache;
  ModelInputs first;
  first.input_ids = b.input_ids;
  first.attention_mask = b.attention_mask;
  first.decoder_input_ids = b.decoder_input_ids.slice(1, 0, 2);
  first.past_key_values = &cache;
  first.use_cache = true;
  const ModelOutput a = m->forward(first);
  CHECK(max_abs_diff(a.logits, full.logits.slice(1, 0, 2)) < 1e-5);
  // No encoder inputs at all: cross-attention reads the cache.
  ModelInputs rest;
  rest.attention_mask = b.attention_mask;
  rest.decoder_input_ids = b.decoder_input_ids.slice(1, 2, kTgt);
  rest.past_key_values = &cache;
  rest.use_cache = true;
  const ModelOutput c = m->forward(rest);
  CHECK_FALSE(c.encoder_last_hidden_state.defined());
  CHECK(max_abs_diff(c.logits, full.logits.slice(1, 2, kTgt)) < 1e-5);
  CHECK(cache.seq_length() == kTgt);
}

TEST_CASE("t5 keys/values pre-filled in the self cache act as earlier decoder positions") {
  // What prefix tuning does: the cache holds P positions before the first forward, the cross
  // cache is empty, use_cache is off. The P cached positions here come from real tokens, so
  // the result must equal the full forward's last T - P positions.
  ModelPtr m = tiny_model("relu", 11);
  const Batch b = make_batch();
  const std::int64_t p = 2;
  Tensor full_logits;
  KVCache prefix;
  {
    NoGradGuard no_grad;
    full_logits = full_forward(*m, b).logits;
    KVCache warm;
    ModelInputs in;
    in.input_ids = b.input_ids;
    in.attention_mask = b.attention_mask;
    in.decoder_input_ids = b.decoder_input_ids.slice(1, 0, p);
    in.past_key_values = &warm;
    in.use_cache = true;
    m->forward(in);
    prefix.self = warm.self;
  }
  ModelInputs in;
  in.input_ids = b.input_ids;
  in.attention_mask = b.attention_mask;
  in.decoder_input_ids = b.decoder_input_ids.slice(1, p, kTgt);
  in.decoder_attention_mask = ones({kBatch, kTgt}, kInt64);  // covers prefix + new tokens
  in.past_key_values = &prefix;
  const ModelOutput out = m->forward(in);
  CHECK(max_abs_diff(out.logits, full_logits.slice(1, p, kTgt)) < 1e-5);
  CHECK(prefix.seq_length() == p);  // not extended without use_cache
  CHECK(prefix.cross.empty());
  // Gradients reach the (trainable) prefix keys/values through the cache.
  Tensor key = prefix.self[0].key.detach().clone().requires_grad_(true);
  prefix.self[0].key = key;
  sum(m->forward(in).logits).backward();
  REQUIRE(key.grad().defined());
  CHECK(max_abs_diff(key.grad(), zeros_like(key)) > 0.0);
}

TEST_CASE("t5 decoder_attention_mask over past + new positions masks the same keys stepwise") {
  ModelPtr m = tiny_model("relu", 13);
  NoGradGuard no_grad;
  const Batch b = make_batch();
  Tensor dec_mask = ones({kBatch, kTgt}, kInt64);
  dec_mask.select(0, 0).select(0, 1).fill_(0);  // row 0 never attends to decoder position 1
  ModelInputs full_in;
  full_in.input_ids = b.input_ids;
  full_in.attention_mask = b.attention_mask;
  full_in.decoder_input_ids = b.decoder_input_ids;
  full_in.decoder_attention_mask = dec_mask;
  const ModelOutput full = m->forward(full_in);
  CHECK(max_abs_diff(full.logits, full_forward(*m, b).logits) > 1e-5);  // the mask matters
  KVCache cache;
  for (std::int64_t t = 0; t < kTgt; ++t) {
    CAPTURE(t);
    ModelInputs in;
    in.input_ids = b.input_ids;
    in.attention_mask = b.attention_mask;
    in.decoder_input_ids = b.decoder_input_ids.slice(1, t, t + 1);
    in.decoder_attention_mask = dec_mask.slice(1, 0, t + 1);
    in.past_key_values = &cache;
    in.use_cache = true;
    const ModelOutput step = m->forward(in);
    CHECK(max_abs_diff(step.logits, full.logits.slice(1, t, t + 1)) < 1e-5);
  }
  // A mask that covers only the new token while the cache holds past positions is an error.
  ModelInputs bad;
  bad.input_ids = b.input_ids;
  bad.decoder_input_ids = b.decoder_input_ids.slice(1, 0, 1);
  bad.decoder_attention_mask = ones({kBatch, 1}, kInt64);
  bad.past_key_values = &cache;
  CHECK_THROWS_AS(m->forward(bad), ShapeError);
}

}  // namespace
}  // namespace peftcpp
