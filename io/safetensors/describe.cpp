// Text table for `peftcpp info`.
#include "io/safetensors/describe.h"

#include <algorithm>
#include <cstdio>

#include "io/safetensors/errors.h"

namespace peftcpp {

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// "1.50 MiB"; exact bytes below 1 KiB.
std::string human_bytes(std::uint64_t n) {
  if (n < 1024)
    return std::to_string(n) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

void pad_to(std::string& out, std::size_t from, std::size_t width) {
  const std::size_t len = out.size() - from;
  out.append(len < width ? width - len : 0, ' ');
}

}  // namespace

std::string describe_safetensors(const SafetensorsFile& file) {
  using safetensors_detail::quote_name;
  const auto& entries = file.entries();
  std::vector<std::string> names, shapes;
  std::size_t wn = 4, wd = 5, ws = 5;  // widths of "name", "dtype", "shape"
  std::uint64_t total_bytes = 0;
  std::uint64_t total_elems = 0;
  for (const auto& e : entries) {
    names.push_back(quote_name(e.name));
    names.back() = names.back().substr(1, names.back().size() - 2);  // keep escaping, drop quotes
    shapes.push_back(shape_text(e.shape));
    wn = std::max(wn, std::min<std::size_t>(names.back().size(), 80));
    wd = std::max(wd, e.st_dtype.size());
    ws = std::max(ws, shapes.back().size());
    total_bytes += e.nbytes();
    total_elems += static_cast<std::uint64_t>(e.numel());
  }
  std::string out = file.path() + ": " + std::to_string(entries.size()) + " tensors, " +
                    std::to_string(total_elems) + " elements, " + human_bytes(total_bytes) +
                    " of data (" + std::to_string(total_bytes) + " bytes), header " +
                    std::to_string(file.header_size()) + " bytes\n";
  auto row =
      [&](const std::string& n, const std::string& d, const std::string& s, const std::string& b) {
        const std::size_t start = out.size();
        out += n;
        out += "  ";
        pad_to(out, start, wn + 2);
        out += d;
        pad_to(out, start, wn + 2 + wd + 2);
        out += s;
        pad_to(out, start, wn + 2 + wd + 2 + ws + 2);
        out += b;
        out += '\n';
      };
  row("name", "dtype", "shape", "bytes");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    std::string dtype = e.st_dtype;
    if (!e.is_native())
      dtype += " (read as " + std::string(dtype_name(e.dtype)) + ")";
    row(names[i], dtype, shapes[i], std::to_string(e.nbytes()));
  }
  if (!file.metadata().empty()) {
    out += "metadata:\n";
    for (const auto& [k, v] : file.metadata()) {
      out += "  " + quote_name(k) + ": " + quote_name(v) + "\n";
    }
  }
  return out;
}

}  // namespace peftcpp
