// Tensor metadata, conversions, in-place helpers and autograd entry points.
// Views live in tensor/views.cpp, printing in tensor/print.cpp.
#include "tensor/tensor.h"

#include <cstring>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/backend/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_utils.h"

namespace peftcpp {

TensorImpl::TensorImpl(std::shared_ptr<Storage> s, Shape sh, Strides st, std::int64_t off, DType dt)
    : storage(std::move(s)), shape(std::move(sh)), strides(std::move(st)), offset(off), dtype(dt) {}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  const std::int64_t n = shape_numel(shape);
  const std::size_t isz = itemsize(dtype);
  PEFTCPP_CHECK_SHAPE(static_cast<std::uint64_t>(n) <= SIZE_MAX / isz, "[empty] ", shape_str(shape), " of ",
                      dtype_name(dtype), " is too large");
  auto storage = Storage::allocate(static_cast<std::size_t>(n) * isz, device);
  return Tensor(std::make_shared<TensorImpl>(std::move(storage), shape, contiguous_strides(shape), 0, dtype));
}

void Tensor::check_defined(const char* op) const {
  if (!impl_) throw ValueError(std::string("[") + op + "] called on an undefined tensor");
}

const Shape& Tensor::shape() const {
  check_defined("shape");
  return impl_->shape;
}
const Strides& Tensor::strides() const {
  check_defined("strides");
  return impl_->strides;
}
std::int64_t Tensor::dim() const {
  return static_cast<std::int64_t>(shape().size());
}
std::int64_t Tensor::size(std::int64_t d) const {
  return shape()[static_cast<std::size_t>(normalize_dim(d, dim(), "size"))];
}
std::int64_t Tensor::stride(std::int64_t d) const {
  return strides()[static_cast<std::size_t>(normalize_dim(d, dim(), "stride"))];
}
std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (std::int64_t s : shape()) n *= s;
  return n;
}
DType Tensor::dtype() const {
  check_defined("dtype");
  return impl_->dtype;
}
Device Tensor::device() const {
  check_defined("device");
  return impl_->storage->device();
}
std::int64_t Tensor::storage_offset() const {
  check_defined("storage_offset");
  return impl_->offset;
}
std::size_t Tensor::itemsize() const {
  return peftcpp::itemsize(dtype());
}
std::size_t Tensor::nbytes() const {
  return static_cast<std::size_t>(numel()) * itemsize();
}
const std::shared_ptr<Storage>& Tensor::storage() const {
  check_defined("storage");
  return impl_->storage;
}
void* Tensor::raw_data() const {
  check_defined("data");
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * static_cast<std::int64_t>(itemsize());
}

bool Tensor::is_contiguous() const {
  const Shape& sh = shape();
  const Strides& st = strides();
  std::int64_t expected = 1;
  for (std::size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

template <typename T>
T* Tensor::data_ptr() const {
  PEFTCPP_CHECK_DTYPE(dtype() == dtype_of_v<T>, "[data_ptr] tensor has dtype ", dtype_name(dtype()),
                      ", requested ", dtype_name(dtype_of_v<T>));
  PEFTCPP_CHECK_T(DeviceError, device().is_cpu(), "[data_ptr] tensor is on ", device().str(),
                  "; move it to the CPU first");
  return static_cast<T*>(raw_data());
}

template <typename T>
T Tensor::item() const {
  PEFTCPP_CHECK(numel() == 1, "[item] tensor with ", numel(), " elements (shape ", shape_str(shape()),
                ") cannot be converted to a scalar");
  Tensor c = to(kCPU).to(dtype_of_v<T>).contiguous();
  return *static_cast<const T*>(c.raw_data());
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = detach().to(kCPU).to(dtype_of_v<T>).contiguous();
  const T* p = static_cast<const T*>(c.raw_data());
  return std::vector<T>(p, p + c.numel());
}

#define PEFTCPP_INSTANTIATE(T)                    \
  template T* Tensor::data_ptr<T>() const;        \
  template T Tensor::item<T>() const;             \
  template std::vector<T> Tensor::to_vector<T>() const;
PEFTCPP_INSTANTIATE(float)
PEFTCPP_INSTANTIATE(double)
PEFTCPP_INSTANTIATE(std::int8_t)
PEFTCPP_INSTANTIATE(std::uint8_t)
PEFTCPP_INSTANTIATE(std::int16_t)
PEFTCPP_INSTANTIATE(std::int32_t)
PEFTCPP_INSTANTIATE(std::int64_t)
PEFTCPP_INSTANTIATE(bool)
#undef PEFTCPP_INSTANTIATE
template Half* Tensor::data_ptr<Half>() const;
template BFloat16* Tensor::data_ptr<BFloat16>() const;

// ---- conversions ----------------------------------------------------------------------------

Tensor Tensor::to(DType target) const {
  check_defined("to");
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target, device());
  backend_for(device()).copy(view_of(*this), view_of(out));
  TensorList outs{out};
  const DType src_dtype = dtype();
  if (is_floating_point(target) && is_floating_point(src_dtype)) {
    record_function("ToCopyBackward", {*this}, outs,
                    [src_dtype](const TensorList& g) -> TensorList { return {g[0].to(src_dtype)}; });
  }
  return outs[0];
}

Tensor Tensor::to(Device target) const {
  check_defined("to");
  if (target == device()) return *this;
  Tensor src = contiguous();
  Tensor out = empty(shape(), dtype(), target);
  if (target.is_cpu()) {
    backend_for(src.device()).copy_to_host(src.raw_data(), out.raw_data(), src.nbytes());
  } else if (src.device().is_cpu()) {
    backend_for(target).copy_from_host(src.raw_data(), out.raw_data(), src.nbytes());
  } else {
    Tensor host = src.to(kCPU);
    return host.to(target);
  }
  TensorList outs{out};
  const Device src_device = device();
  record_function("ToDeviceBackward", {*this}, outs,
                  [src_device](const TensorList& g) -> TensorList { return {g[0].to(src_device)}; });
  return outs[0];
}

Tensor Tensor::clone() const {
  check_defined("clone");
  Tensor out = empty(shape(), dtype(), device());
  backend_for(device()).copy(view_of(*this), view_of(out));
  TensorList outs{out};
  record_function("CloneBackward", {*this}, outs, [](const TensorList& g) -> TensorList { return {g[0]}; });
  return outs[0];
}

Tensor Tensor::contiguous() const {
  check_defined("contiguous");
  return is_contiguous() ? *this : clone();
}

// ---- in-place --------------------------------------------------------------------------------

namespace ops_detail {
void check_inplace(const Tensor& t, const char* op) {
  check_defined(t, op);
  if (GradMode::is_enabled() && t.requires_grad()) {
    throw ValueError(detail::concat(
        "[", op, "] in-place operation on a tensor of shape ", shape_str(t.shape()),
        " that requires grad; autograd cannot track it. Use the out-of-place op, or wrap parameter "
        "updates in NoGradGuard"));
  }
  PEFTCPP_CHECK(!t.storage()->read_only(), "[", op, "] the tensor's storage is read-only (e.g. a memory-mapped "
                "file); clone() it first");
}
}  // namespace ops_detail

Tensor& Tensor::copy_(const Tensor& src) {
  ops_detail::check_inplace(*this, "copy_");
  ops_detail::check_defined(src, "copy_", "source");
  Tensor s = src.device() == device() ? src : src.to(device());
  s = s.expand(shape());
  backend_for(device()).copy(view_of(s), view_of(*this));
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::fill_(double value) {
  ops_detail::check_inplace(*this, "fill_");
  backend_for(device()).fill(view_of(*this), value);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::zero_() {
  return fill_(0.0);
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  ops_detail::check_inplace(*this, "add_");
  Tensor o = other.dtype() == dtype() ? other : other.to(dtype());
  ops_detail::check_same_device(*this, o, "add_");
  const Shape bs = broadcast_shapes(shape(), o.shape(), "add_");
  PEFTCPP_CHECK_SHAPE(bs == shape(), "[add_] cannot broadcast ", shape_str(o.shape()), " into ", shape_str(shape()));
  Tensor ob = o.detach().expand(shape());
  Tensor self = detach();
  backend_for(device()).binary(BinaryOp::Add, view_of(self), view_of(ob), view_of(self), alpha);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::mul_(double value) {
  ops_detail::check_inplace(*this, "mul_");
  Tensor self = detach();
  backend_for(device()).unary(UnaryOp::AddScalar, view_of(self), view_of(self), value, 0.0);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::mul_(const Tensor& other) {
  ops_detail::check_inplace(*this, "mul_");
  Tensor o = other.dtype() == dtype() ? other : other.to(dtype());
  ops_detail::check_same_device(*this, o, "mul_");
  Tensor ob = o.detach().expand(shape());
  Tensor self = detach();
  backend_for(device()).binary(BinaryOp::Mul, view_of(self), view_of(ob), view_of(self), 1.0);
  storage()->bump_version();
  return *this;
}

// ---- autograd ------------------------------------------------------------------------------

bool Tensor::requires_grad() const {
  return impl_ && impl_->autograd && impl_->autograd->requires_grad;
}

Tensor& Tensor::requires_grad_(bool value) {
  check_defined("requires_grad_");
  if (!impl_->autograd) {
    if (!value) return *this;
    impl_->autograd = std::make_shared<AutogradMeta>();
  }
  if (impl_->autograd->grad_fn && !value) {
    throw ValueError("[requires_grad_] cannot turn off requires_grad on a non-leaf tensor; use detach()");
  }
  PEFTCPP_CHECK_DTYPE(!value || is_floating_point(dtype()), "[requires_grad_] only floating-point tensors can "
                      "require gradients, got ", dtype_name(dtype()));
  impl_->autograd->requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const {
  check_defined("grad");
  return impl_->autograd ? impl_->autograd->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  check_defined("set_grad");
  if (g.defined()) {
    PEFTCPP_CHECK_SHAPE(g.shape() == shape(), "[set_grad] gradient shape ", shape_str(g.shape()),
                        " does not match tensor shape ", shape_str(shape()));
  }
  if (!impl_->autograd) impl_->autograd = std::make_shared<AutogradMeta>();
  impl_->autograd->grad = g;
}

bool Tensor::is_leaf() const {
  return !(impl_ && impl_->autograd && impl_->autograd->grad_fn);
}

std::shared_ptr<Node> Tensor::grad_fn() const {
  return impl_ && impl_->autograd ? impl_->autograd->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& g, bool retain_graph) const {
  run_backward({*this}, {g}, retain_graph);
}

Tensor Tensor::detach() const {
  check_defined("detach");
  return Tensor(std::make_shared<TensorImpl>(impl_->storage, impl_->shape, impl_->strides, impl_->offset, impl_->dtype));
}

void Tensor::retain_grad() const {
  check_defined("retain_grad");
  PEFTCPP_CHECK(requires_grad(), "[retain_grad] tensor does not require grad");
  if (is_leaf() || impl_->autograd->retains_grad) return;
  impl_->autograd->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_;
  auto& node = impl_->autograd->grad_fn;
  node->pre_hooks.push_back({-1, impl_->autograd->output_nr, [weak](const Tensor& g) -> Tensor {
                               if (auto impl = weak.lock()) {
                                 auto& meta = *impl->autograd;
                                 meta.grad = meta.grad.defined() ? add(meta.grad, g) : g.clone();
                               }
                               return Tensor();
                             }});
}

int Tensor::register_hook(GradHook hook) const {
  check_defined("register_hook");
  PEFTCPP_CHECK(requires_grad(), "[register_hook] cannot register a hook on a tensor that does not require grad");
  AutogradMeta& meta = *impl_->autograd;
  const int id = meta.next_hook_id++;
  if (is_leaf()) {
    meta.hooks.emplace_back(id, std::move(hook));
  } else {
    meta.grad_fn->pre_hooks.push_back({id, meta.output_nr, std::move(hook)});
  }
  return id;
}

void Tensor::remove_hook(int id) const {
  check_defined("remove_hook");
  if (!impl_->autograd) return;
  auto& hooks = impl_->autograd->hooks;
  std::erase_if(hooks, [id](const auto& h) { return h.first == id; });
  if (impl_->autograd->grad_fn) {
    std::erase_if(impl_->autograd->grad_fn->pre_hooks, [id](const Node::PreHook& h) { return h.id == id; });
  }
}

Tensor Tensor::sum() const {
  return peftcpp::sum(*this);
}
Tensor Tensor::mean() const {
  return peftcpp::mean(*this);
}
Tensor Tensor::matmul(const Tensor& other) const {
  return peftcpp::matmul(*this, other);
}

}  // namespace peftcpp
