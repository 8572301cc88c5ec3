// T5 relative position buckets against values worked out by hand from the Mesh TensorFlow
// formula: exact buckets below max_exact, then max_exact + floor(log(d / max_exact) /
// log(max_distance / max_exact) * (n - max_exact)), capped at n - 1 (n = per-sign buckets).
#include <doctest/doctest.h>

#include <vector>

#include "models/t5/t5_layers.h"
#include "models/t5/t5_model.h"
#include "t5_test_util.h"

namespace peftcpp {
namespace {

using models::t5::relative_position_bucket;
using models::t5::relative_position_buckets;

struct Case {
  std::int64_t relative_position, bucket;
};

void check_all(
    const std::vector<Case>& cases, bool bidirectional, std::int64_t nb, std::int64_t md) {
  for (const Case& c : cases) {
    CAPTURE(c.relative_position);
    CHECK(relative_position_bucket(c.relative_position, bidirectional, nb, md) == c.bucket);
  }
}

TEST_CASE("t5 bidirectional buckets (32 buckets, max distance 128) match hand-computed values") {
  // n = 16 per sign, max_exact = 8; keys after the query (positive) are offset by 16.
  // -12: 8 + floor(log(1.5) / log(16) * 8) = 8 + floor(1.17) = 9; -16: 8 + 2 = 10;
  // -127: 8 + floor(7.977) = 15; +20: 16 + 8 + floor(log(2.5) / log(16) * 8 = 2.64) = 26.
  check_all(
      {{0, 0},
       {-1, 1},
       {1, 17},
       {-7, 7},
       {-8, 8},
       {-12, 9},
       {-16, 10},
       {-127, 15},
       {-128, 15},
       {-1000, 15},
       {1000, 31},
       {20, 26}},
      true,
      32,
      128);
}

TEST_CASE("t5 causal buckets (32 buckets, max distance 128) match hand-computed values") {
  // n = 32, max_exact = 16, keys after the query all fall in bucket 0.
  // -32: 16 + floor(log(2) / log(8) * 16 = 5.33) = 21; -100: 16 + floor(14.10) = 30;
  // -120: 16 + floor(15.50) = 31; -128: capped at 31.
  check_all(
      {{5, 0},
       {0, 0},
       {-3, 3},
       {-15, 15},
       {-16, 16},
       {-32, 21},
       {-100, 30},
       {-120, 31},
       {-128, 31}},
      false,
      32,
      128);
}

TEST_CASE("t5 buckets of the golden config (8 buckets, max distance 20) match hand values") {
  // Bidirectional: n = 4, max_exact = 2: -7 -> 2 + floor(log(3.5) / log(10) * 2 = 1.09) = 3.
  check_all({{-2, 2}, {-3, 2}, {-5, 2}, {-6, 2}, {-7, 3}, {-20, 3}, {1, 5}, {3, 6}}, true, 8, 20);
  // Causal: n = 8, max_exact = 4: -9 -> 4 + floor(log(2.25) / log(5) * 4 = 2.02) = 6.
  check_all(
      {{1, 0}, {0, 0}, {-3, 3}, {-4, 4}, {-5, 4}, {-9, 6}, {-10, 6}, {-19, 7}, {-20, 7}},
      false,
      8,
      20);
}

TEST_CASE("t5 bucket tables put query i at offset + i and key j at j") {
  const std::int64_t q = 3, k = 7, offset = 4;
  const Tensor table = relative_position_buckets(q, k, offset, false, 8, 20);
  REQUIRE(table.shape() == Shape{q, k});
  REQUIRE(table.dtype() == kInt64);
  const auto v = table.to_vector<std::int64_t>();
  for (std::int64_t i = 0; i < q; ++i)
    for (std::int64_t j = 0; j < k; ++j)
      CHECK(v[i * k + j] == relative_position_bucket(j - (offset + i), false, 8, 20));
  // Query 0 at position 4 looking at key 0: distance -4 -> bucket 4; at key 6: future -> 0.
  CHECK(v[0] == 4);
  CHECK(v[6] == 0);
  const Tensor bi = relative_position_buckets(2, 2, 0, true, 8, 20);
  CHECK(bi.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 5, 1, 0});
}

TEST_CASE("t5 compute_bias gathers relative_attention_bias rows per bucket and head") {
  const T5Config c = t5_test::tiny_config();
  models::t5::T5Attention attn(c, true);
  auto* emb = dynamic_cast<nn::Embedding*>(attn.relative_attention_bias.get());
  REQUIRE(emb != nullptr);
  const Tensor bias = attn.compute_bias(3, 5, 2, false);  // [1, heads, 3, 5]
  REQUIRE(bias.shape() == Shape{1, c.num_heads, 3, 5});
  const auto w = emb->weight.to_vector<float>();
  const auto b = bias.contiguous().to_vector<float>();
  for (std::int64_t h = 0; h < c.num_heads; ++h)
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t j = 0; j < 5; ++j) {
        const std::int64_t bucket = relative_position_bucket(
            j - (2 + i),
            false,
            c.relative_attention_num_buckets,
            c.relative_attention_max_distance);
        CHECK(b[(h * 3 + i) * 5 + j] == w[bucket * c.num_heads + h]);
      }
}

TEST_CASE("t5 buckets reject sizes that leave no bucket per sign") {
  CHECK_THROWS_AS(relative_position_bucket(1, true, 2, 10), ValueError);
  CHECK_THROWS_AS(relative_position_bucket(1, false, 8, 0), ValueError);
}

}  // namespace
}  // namespace peftcpp
