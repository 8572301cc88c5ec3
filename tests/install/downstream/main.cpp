// A downstream program built against an installed peftcpp through pkg-config.
#include <peftcpp/peftcpp.h>

#include <cmath>
#include <iostream>

int main() {
  using namespace peftcpp;
  Tensor w = randn({4, 3}).requires_grad_();
  Tensor x = ones({2, 3});
  Tensor loss = sum(matmul(x, w.t()));
  loss.backward();
  // d loss / d w = column sums of x for every row of w = 2
  for (float g : w.grad().to_vector<float>()) {
    if (std::fabs(g - 2.0f) > 1e-6f) {
      std::cerr << "unexpected gradient " << g << "\n";
      return 1;
    }
  }
  std::cout << "downstream ok: " << w.grad() << "\n";
  return 0;
}
