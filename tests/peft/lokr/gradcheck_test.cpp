// float64 gradient checks of every LoKr layer type and factor layout (finite differences,
// autograd/gradcheck.h).
#include <doctest/doctest.h>

#include "peft/tuners/lokr/layer.h"
#include "tests/peft/lycoris/lycoris_test_util.h"

using namespace peftcpp;

namespace {

// Gradcheck of layer(x) for the adapter tensors the layer has.
void check(const std::string& spec, int r, bool decompose_both, bool effective, const Tensor& x) {
  CAPTURE(spec);
  CAPTURE(r);
  auto base = test::one_layer(spec, 7);
  base->to(kFloat64);
  auto cfg = test::lycoris_config<LoKrConfig>({"m"}, r, 3);
  cfg->decompose_both = decompose_both;
  cfg->use_effective_conv2d = effective;
  auto model = get_peft_model(base, std::move(cfg));
  auto l = model->get_base_model()->get_submodule_as<lokr::LoKrLayer>("m");
  REQUIRE(l != nullptr);
  std::vector<std::string> present;
  for (const std::string& n : l->adapter_layer_names()) {
    if (l->params(n).contains("default"))
      present.push_back(n);
  }
  test::check_layer_grads(*l, x, present);
}

}  // namespace

TEST_CASE("lokr Linear (full and decomposed factors) passes a float64 gradcheck") {
  check(test::linear_spec(4, 6), 4, false, false, randn({3, 4}, kFloat64));
  check(test::linear_spec(16, 8), 1, true, false, randn({3, 16}, kFloat64));  // all low-rank
}

TEST_CASE("lokr Conv1d (3-d w2, flattened, effective) passes a float64 gradcheck") {
  const Tensor x = randn({2, 4, 5}, kFloat64);
  check(test::conv1d_spec(4, 4, 3), 8, false, false, x);
  check(test::conv1d_spec(4, 4, 3), 1, false, false, x);
  check(test::conv1d_spec(4, 4, 3), 1, false, true, x);
}

TEST_CASE("lokr Conv2d (4-d w2, flattened, effective, groups) passes a float64 gradcheck") {
  const Tensor x = randn({1, 4, 4, 4}, kFloat64);
  check(test::conv2d_spec(4, 4, 3), 8, false, false, x);
  check(test::conv2d_spec(16, 8, 3), 1, true, false, randn({1, 16, 3, 3}, kFloat64));
  check(test::conv2d_spec(4, 4, 3), 1, false, true, x);
  check(test::conv2d_spec(4, 4, 3, 2), 1, false, false, x);
}
