#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace peftcpp {

GradcheckResult gradcheck(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs,
                          const GradcheckOptions& options) {
  for (const Tensor& t : inputs) {
    PEFTCPP_CHECK_DTYPE(!t.defined() || !t.requires_grad() || t.dtype() == kFloat64,
                        "[gradcheck] inputs that require grad must be float64, got ", dtype_name(t.dtype()));
  }
  Generator gen(options.seed);
  GradcheckResult result;
  for (int proj = 0; proj < options.num_projections; ++proj) {
    Tensor out = f(inputs);
    PEFTCPP_CHECK(out.requires_grad(), "[gradcheck] output does not require grad");
    Tensor v = randn(out.shape(), kFloat64, &gen);
    TensorList req;
    for (const Tensor& t : inputs) {
      if (t.defined() && t.requires_grad()) req.push_back(t);
    }
    TensorList analytic = grad({out}, req, {v}, false, true);
    for (std::size_t k = 0; k < req.size(); ++k) {
      Tensor x = req[k];
      const std::int64_t n = x.numel();
      std::vector<double> numeric(static_cast<std::size_t>(n));
      {
        NoGradGuard ng;
        Tensor flat = x.detach();  // shares storage; we perturb it in place
        PEFTCPP_CHECK(flat.is_contiguous(), "[gradcheck] inputs must be contiguous");
        double* p = static_cast<double*>(flat.raw_data());
        for (std::int64_t i = 0; i < n; ++i) {
          const double orig = p[i];
          p[i] = orig + options.eps;
          const double fp = sum(mul(f(inputs).detach(), v)).item<double>();
          p[i] = orig - options.eps;
          const double fm = sum(mul(f(inputs).detach(), v)).item<double>();
          p[i] = orig;
          numeric[static_cast<std::size_t>(i)] = (fp - fm) / (2 * options.eps);
        }
      }
      std::vector<double> an = analytic[k].defined() ? analytic[k].to_vector<double>()
                                                     : std::vector<double>(static_cast<std::size_t>(n), 0.0);
      for (std::int64_t i = 0; i < n; ++i) {
        const double a = an[static_cast<std::size_t>(i)], b = numeric[static_cast<std::size_t>(i)];
        if (!(std::fabs(a - b) <= options.atol + options.rtol * std::fabs(b))) {
          std::ostringstream os;
          os << "[gradcheck] input " << k << " (shape " << shape_str(x.shape()) << ") element " << i
             << ": analytic " << a << " vs numeric " << b << " (projection " << proj << ")";
          result.ok = false;
          result.message = os.str();
          return result;
        }
      }
    }
  }
  return result;
}

}  // namespace peftcpp
