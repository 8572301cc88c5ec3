#include "models/llama/attention_mask.h"

#include <limits>
#include <vector>

#include "tensor/ops.h"

namespace peftcpp::models::llama {
namespace {

template <typename T>
Tensor fill_bias(const std::vector<std::uint8_t>& allowed, const Shape& shape, DType dtype) {
  const T masked = static_cast<T>(finfo_min(dtype));
  Tensor out = empty(shape, std::is_same_v<T, double> ? kFloat64 : kFloat32);
  T* o = out.data_ptr<T>();
  for (std::size_t i = 0; i < allowed.size(); ++i) o[i] = allowed[i] ? T(0) : masked;
  return out.dtype() == dtype ? out : out.to(dtype);
}

}  // namespace


Tensor causal_attention_bias(
    const Tensor& attention_mask,
    std::int64_t batch,
    std::int64_t q_len,
    std::int64_t past,
    std::optional<std::int64_t> window,
    DType dtype) {
  const std::int64_t keys = past + q_len;
  std::vector<std::uint8_t> pad;  // [B, S], 1 = attend
  if (attention_mask.defined()) {
    PEFTCPP_CHECK_SHAPE(
        attention_mask.dim() == 2 && attention_mask.size(0) == batch &&
            attention_mask.size(1) == keys,
        "[models/llama] attention_mask must be [batch, past + seq] = [",
        batch,
        ", ",
        keys,
        "] (cached/prefix positions included), got ",
        shape_str(attention_mask.shape()));
    const Tensor m = ne(attention_mask, 0.0).to(kUInt8).contiguous();
    pad.assign(m.data_ptr<std::uint8_t>(), m.data_ptr<std::uint8_t>() + m.numel());
  }
  std::vector<std::uint8_t> allowed(static_cast<std::size_t>(batch * q_len * keys));
  bool any_masked = false;
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t i = 0; i < q_len; ++i) {
      const std::int64_t q = past + i;
      std::uint8_t* row = allowed.data() + (b * q_len + i) * keys;
      for (std::int64_t j = 0; j < keys; ++j) {
        bool ok = j <= q;
        if (window && q - j >= *window)
          ok = false;
        if (!pad.empty() && pad[static_cast<std::size_t>(b * keys + j)] == 0)
          ok = false;
        row[j] = ok ? 1 : 0;
        any_masked = any_masked || !ok;
      }
    }
  }
  if (!any_masked)
    return Tensor();
  const Shape shape{batch, 1, q_len, keys};
  return dtype == kFloat64 ? fill_bias<double>(allowed, shape, dtype)
                           : fill_bias<float>(allowed, shape, dtype);
}

}  // namespace peftcpp::models::llama
