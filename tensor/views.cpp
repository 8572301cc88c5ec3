// Views: new shape/strides/offset over the same storage. Each records its backward.
#include <algorithm>

#include "autograd/node.h"
#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {
namespace {

Tensor make_view(const Tensor& base, Shape shape, Strides strides, std::int64_t offset) {
  return Tensor(std::make_shared<TensorImpl>(base.storage(), std::move(shape), std::move(strides), offset, base.dtype()));
}

Shape infer_shape(const Shape& requested, std::int64_t numel, const char* op, const Shape& from) {
  Shape out = requested;
  std::int64_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      PEFTCPP_CHECK_SHAPE(infer < 0, "[", op, "] only one dimension can be -1 in ", shape_str(requested));
      infer = static_cast<int>(i);
    } else {
      PEFTCPP_CHECK_SHAPE(out[i] >= 0, "[", op, "] invalid dimension ", out[i], " in ", shape_str(requested));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    PEFTCPP_CHECK_SHAPE(known != 0 && numel % known == 0, "[", op, "] cannot reshape ", shape_str(from), " (", numel,
                        " elements) into ", shape_str(requested));
    out[static_cast<std::size_t>(infer)] = numel / known;
  } else {
    PEFTCPP_CHECK_SHAPE(known == numel, "[", op, "] cannot reshape ", shape_str(from), " (", numel,
                        " elements) into ", shape_str(requested));
  }
  return out;
}

// Strides for viewing (shape, strides) as new_shape without copying, if possible (PyTorch's
// computeStride): each group of old dims that maps onto a group of new dims must be contiguous.
bool compute_view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& new_shape,
                          Strides& new_strides) {
  new_strides.assign(new_shape.size(), 0);
  if (old_shape.empty()) {
    for (std::size_t i = 0; i < new_shape.size(); ++i) new_strides[i] = 1;
    return true;
  }
  const std::int64_t numel = shape_numel(old_shape);
  if (numel == 0) {
    new_strides = contiguous_strides(new_shape);
    return true;
  }
  std::int64_t view_d = static_cast<std::int64_t>(new_shape.size()) - 1;
  std::int64_t chunk_base_stride = old_strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t tensor_d = static_cast<std::int64_t>(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[static_cast<std::size_t>(tensor_d)];
    if (tensor_d == 0 || (old_shape[static_cast<std::size_t>(tensor_d - 1)] != 1 &&
                          old_strides[static_cast<std::size_t>(tensor_d - 1)] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[static_cast<std::size_t>(view_d)] == 1)) {
        new_strides[static_cast<std::size_t>(view_d)] = view_numel * chunk_base_stride;
        view_numel *= new_shape[static_cast<std::size_t>(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[static_cast<std::size_t>(tensor_d - 1)];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

Tensor record_view(const Tensor& in, Tensor out, const char* name, FunctionNode::BackwardFn fn) {
  TensorList outs{std::move(out)};
  record_function(name, {in}, outs, std::move(fn));
  return outs[0];
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  check_defined("view");
  const Shape new_shape = infer_shape(requested, numel(), "view", shape());
  Strides new_strides;
  PEFTCPP_CHECK_SHAPE(compute_view_strides(shape(), strides(), new_shape, new_strides), "[view] shape ",
                      shape_str(new_shape), " is not compatible with the strides of a ", shape_str(shape()),
                      " tensor; use reshape() (which copies) instead");
  const Shape in_shape = shape();
  return record_view(*this, make_view(*this, new_shape, new_strides, storage_offset()), "ViewBackward",
                     [in_shape](const TensorList& g) -> TensorList { return {g[0].reshape(in_shape)}; });
}

Tensor Tensor::reshape(const Shape& requested) const {
  check_defined("reshape");
  const Shape new_shape = infer_shape(requested, numel(), "reshape", shape());
  Strides new_strides;
  if (compute_view_strides(shape(), strides(), new_shape, new_strides)) return view(new_shape);
  return clone().view(new_shape);
}

Tensor Tensor::permute(const std::vector<std::int64_t>& dims) const {
  check_defined("permute");
  PEFTCPP_CHECK_SHAPE(static_cast<std::int64_t>(dims.size()) == dim(), "[permute] got ", dims.size(),
                      " dims for a tensor with ", dim(), " dims");
  std::vector<std::int64_t> nd(dims.size());
  std::vector<bool> seen(dims.size(), false);
  Shape sh(dims.size());
  Strides st(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) {
    nd[i] = normalize_dim(dims[i], dim(), "permute");
    PEFTCPP_CHECK_INDEX(!seen[static_cast<std::size_t>(nd[i])], "[permute] repeated dim ", dims[i]);
    seen[static_cast<std::size_t>(nd[i])] = true;
    sh[i] = shape()[static_cast<std::size_t>(nd[i])];
    st[i] = strides()[static_cast<std::size_t>(nd[i])];
  }
  std::vector<std::int64_t> inverse(dims.size());
  for (std::size_t i = 0; i < nd.size(); ++i) inverse[static_cast<std::size_t>(nd[i])] = static_cast<std::int64_t>(i);
  return record_view(*this, make_view(*this, sh, st, storage_offset()), "PermuteBackward",
                     [inverse](const TensorList& g) -> TensorList { return {g[0].permute(inverse)}; });
}

Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const {
  check_defined("transpose");
  if (dim() == 0) return *this;
  std::vector<std::int64_t> perm(static_cast<std::size_t>(dim()));
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<std::int64_t>(i);
  std::swap(perm[static_cast<std::size_t>(normalize_dim(d0, dim(), "transpose"))],
            perm[static_cast<std::size_t>(normalize_dim(d1, dim(), "transpose"))]);
  return permute(perm);
}

Tensor Tensor::t() const {
  check_defined("t");
  PEFTCPP_CHECK_SHAPE(dim() <= 2, "[t] expects a tensor with <= 2 dims, got ", shape_str(shape()));
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::mT() const {
  check_defined("mT");
  PEFTCPP_CHECK_SHAPE(dim() >= 2, "[mT] expects at least 2 dims, got ", shape_str(shape()));
  return transpose(-2, -1);
}

Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
  check_defined("slice");
  PEFTCPP_CHECK_SHAPE(dim() > 0, "[slice] cannot slice a 0-d tensor");
  const std::int64_t nd = normalize_dim(d, dim(), "slice");
  PEFTCPP_CHECK(step > 0, "[slice] step must be positive, got ", step);
  const std::int64_t n = shape()[static_cast<std::size_t>(nd)];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape sh = shape();
  Strides st = strides();
  sh[static_cast<std::size_t>(nd)] = (end - start + step - 1) / step;
  st[static_cast<std::size_t>(nd)] *= step;
  const std::int64_t off = storage_offset() + start * strides()[static_cast<std::size_t>(nd)];
  const Shape in_shape = shape();
  return record_view(*this, make_view(*this, sh, st, off), "SliceBackward",
                     [in_shape, nd, start, end, step](const TensorList& g) -> TensorList {
                       Tensor z = zeros(in_shape, g[0].dtype(), g[0].device());
                       z.slice(nd, start, end, step).copy_(g[0]);
                       return {z};
                     });
}

Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  check_defined("narrow");
  const std::int64_t nd = normalize_dim(d, dim(), "narrow");
  const std::int64_t n = shape()[static_cast<std::size_t>(nd)];
  if (start < 0) start += n;
  PEFTCPP_CHECK_INDEX(start >= 0 && length >= 0 && start + length <= n, "[narrow] range [", start, ", ",
                      start + length, ") out of bounds for dim ", d, " of size ", n);
  return slice(nd, start, start + length, 1);
}

Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
  check_defined("select");
  PEFTCPP_CHECK_SHAPE(dim() > 0, "[select] cannot select on a 0-d tensor");
  const std::int64_t nd = normalize_dim(d, dim(), "select");
  const std::int64_t n = shape()[static_cast<std::size_t>(nd)];
  PEFTCPP_CHECK_INDEX(index >= -n && index < n, "[select] index ", index, " out of range for dim ", d,
                      " of size ", n);
  if (index < 0) index += n;
  Shape sh = shape();
  Strides st = strides();
  const std::int64_t off = storage_offset() + index * st[static_cast<std::size_t>(nd)];
  sh.erase(sh.begin() + nd);
  st.erase(st.begin() + nd);
  const Shape in_shape = shape();
  return record_view(*this, make_view(*this, sh, st, off), "SelectBackward",
                     [in_shape, nd, index](const TensorList& g) -> TensorList {
                       Tensor z = zeros(in_shape, g[0].dtype(), g[0].device());
                       z.select(nd, index).copy_(g[0]);
                       return {z};
                     });
}

Tensor Tensor::expand(const Shape& target) const {
  check_defined("expand");
  PEFTCPP_CHECK_SHAPE(target.size() >= shape().size(), "[expand] cannot expand ", shape_str(shape()), " to ",
                      shape_str(target), " (fewer dims)");
  const std::size_t lead = target.size() - shape().size();
  Shape sh(target.size());
  Strides st(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (i < lead) {
      PEFTCPP_CHECK_SHAPE(target[i] >= 0, "[expand] -1 is not allowed for new leading dims in ", shape_str(target));
      sh[i] = target[i];
      st[i] = 0;
      continue;
    }
    const std::int64_t cur = shape()[i - lead];
    const std::int64_t want = target[i] == -1 ? cur : target[i];
    if (cur == want) {
      sh[i] = cur;
      st[i] = strides()[i - lead];
    } else {
      PEFTCPP_CHECK_SHAPE(cur == 1, "[expand] cannot expand ", shape_str(shape()), " to ", shape_str(target),
                          " (dim ", i, ": ", cur, " -> ", want, ")");
      sh[i] = want;
      st[i] = 0;
    }
  }
  if (sh == shape()) return *this;
  const Shape in_shape = shape();
  return record_view(*this, make_view(*this, sh, st, storage_offset()), "ExpandBackward",
                     [in_shape](const TensorList& g) -> TensorList { return {ops_detail::sum_to(g[0], in_shape)}; });
}

Tensor Tensor::squeeze() const {
  check_defined("squeeze");
  Shape sh;
  for (std::int64_t s : shape()) {
    if (s != 1) sh.push_back(s);
  }
  return sh.size() == shape().size() ? *this : view(sh);
}

Tensor Tensor::squeeze(std::int64_t d) const {
  check_defined("squeeze");
  if (dim() == 0) return *this;
  const std::int64_t nd = normalize_dim(d, dim(), "squeeze");
  if (shape()[static_cast<std::size_t>(nd)] != 1) return *this;
  Shape sh = shape();
  sh.erase(sh.begin() + nd);
  return view(sh);
}

Tensor Tensor::unsqueeze(std::int64_t d) const {
  check_defined("unsqueeze");
  const std::int64_t nd = normalize_dim(d, dim() + 1, "unsqueeze");
  Shape sh = shape();
  Strides st = strides();
  const std::int64_t new_stride = nd < dim() ? st[static_cast<std::size_t>(nd)] * sh[static_cast<std::size_t>(nd)] : 1;
  sh.insert(sh.begin() + nd, 1);
  st.insert(st.begin() + nd, new_stride);
  const Shape in_shape = shape();
  return record_view(*this, make_view(*this, sh, st, storage_offset()), "UnsqueezeBackward",
                     [in_shape](const TensorList& g) -> TensorList { return {g[0].reshape(in_shape)}; });
}

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  check_defined("flatten");
  if (dim() == 0) return reshape({1});
  const std::int64_t s = normalize_dim(start_dim, dim(), "flatten");
  const std::int64_t e = normalize_dim(end_dim, dim(), "flatten");
  PEFTCPP_CHECK_INDEX(s <= e, "[flatten] start_dim ", start_dim, " is after end_dim ", end_dim);
  Shape sh(shape().begin(), shape().begin() + s);
  std::int64_t n = 1;
  for (std::int64_t i = s; i <= e; ++i) n *= shape()[static_cast<std::size_t>(i)];
  sh.push_back(n);
  sh.insert(sh.end(), shape().begin() + e + 1, shape().end());
  return reshape(sh);
}

Tensor Tensor::unflatten(std::int64_t d, const Shape& sizes) const {
  check_defined("unflatten");
  const std::int64_t nd = normalize_dim(d, dim(), "unflatten");
  Shape part = infer_shape(sizes, shape()[static_cast<std::size_t>(nd)], "unflatten", shape());
  Shape sh(shape().begin(), shape().begin() + nd);
  sh.insert(sh.end(), part.begin(), part.end());
  sh.insert(sh.end(), shape().begin() + nd + 1, shape().end());
  return view(sh);
}

Tensor Tensor::as_strided(const Shape& sh, const Strides& st, std::int64_t offset) const {
  check_defined("as_strided");
  PEFTCPP_CHECK_SHAPE(sh.size() == st.size(), "[as_strided] shape ", shape_str(sh), " and strides ",
                      shape_str(st), " differ in length");
  std::int64_t max_off = offset;
  for (std::size_t i = 0; i < sh.size(); ++i) {
    PEFTCPP_CHECK_SHAPE(sh[i] >= 0 && st[i] >= 0, "[as_strided] negative size or stride");
    if (sh[i] > 0) max_off += (sh[i] - 1) * st[i];
  }
  const std::int64_t capacity = static_cast<std::int64_t>(storage()->nbytes() / itemsize());
  PEFTCPP_CHECK_INDEX(offset >= 0 && (shape_numel(sh) == 0 || max_off < capacity), "[as_strided] view reaches element ",
                      max_off, " but the storage holds ", capacity);
  PEFTCPP_CHECK(!requires_grad() || !GradMode::is_enabled(),
                "[as_strided] is not differentiable; build the view from view/permute/slice/expand instead");
  return make_view(*this, sh, st, offset);
}

Tensor Tensor::view_as_dtype(DType target) const {
  check_defined("view_as_dtype");
  PEFTCPP_CHECK_DTYPE(peftcpp::itemsize(target) == itemsize(), "[view_as_dtype] ", dtype_name(dtype()), " and ",
                      dtype_name(target), " differ in size");
  return Tensor(std::make_shared<TensorImpl>(storage(), shape(), strides(), storage_offset(), target));
}

}  // namespace peftcpp
