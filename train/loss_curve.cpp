#include "train/loss_curve.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "io/atomic_file.h"

namespace peftcpp::train {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

std::string render_loss_svg(const LossCurve& curve, int width, int height) {
  const double left = 64, right = 16, top = 36, bottom = 44;
  const double pw = width - left - right, ph = height - top - bottom;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto* series : {&curve.train, &curve.eval}) {
    for (const auto& [s, l] : *series) {
      if (!std::isfinite(l)) continue;
      x0 = std::min(x0, static_cast<double>(s));
      x1 = std::max(x1, static_cast<double>(s));
      y0 = std::min(y0, l);
      y1 = std::max(y1, l);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  auto X = [&](double s) { return left + (s - x0) / (x1 - x0) * pw; };
  auto Y = [&](double l) { return top + (1 - (l - y0) / (y1 - y0)) * ph; };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(width / 2.0) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" +
         curve.title + "</text>\n";
  // axes, grid and ticks
  for (int i = 0; i <= 4; ++i) {
    const double l = y0 + (y1 - y0) * i / 4.0, y = Y(l);
    svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left + pw) +
           "\" y2=\"" + num(y) + "\" stroke=\"#ddd\"/>\n";
    svg += "<text x=\"" + num(left - 6) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
           label(l) + "</text>\n";
    const double s = x0 + (x1 - x0) * i / 4.0;
    svg += "<text x=\"" + num(X(s)) + "\" y=\"" + num(top + ph + 18) +
           "\" text-anchor=\"middle\">" + std::to_string(std::llround(s)) + "</text>\n";
  }
  svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) +
         "\" height=\"" + num(ph) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(height - 8.0) +
         "\" text-anchor=\"middle\">optimizer step</text>\n";
  if (!curve.train.empty()) {
    svg += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"";
    for (const auto& [s, l] : curve.train)
      if (std::isfinite(l)) svg += num(X(static_cast<double>(s))) + "," + num(Y(l)) + " ";
    svg += "\"/>\n";
  }
  for (const auto& [s, l] : curve.eval) {
    if (!std::isfinite(l)) continue;
    svg += "<circle cx=\"" + num(X(static_cast<double>(s))) + "\" cy=\"" + num(Y(l)) +
           "\" r=\"4\" fill=\"#d62728\"/>\n";
  }
  svg += "<line x1=\"" + num(left + pw - 150) + "\" y1=\"" + num(top + 14) + "\" x2=\"" +
         num(left + pw - 130) + "\" y2=\"" + num(top + 14) + "\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n";
  svg += "<text x=\"" + num(left + pw - 124) + "\" y=\"" + num(top + 18) + "\">train loss</text>\n";
  svg += "<circle cx=\"" + num(left + pw - 140) + "\" cy=\"" + num(top + 32) + "\" r=\"4\" fill=\"#d62728\"/>\n";
  svg += "<text x=\"" + num(left + pw - 124) + "\" y=\"" + num(top + 36) + "\">eval loss</text>\n";
  svg += "</svg>\n";
  return svg;
}

void write_loss_svg(const std::string& path, const LossCurve& curve) {
  const std::string svg = render_loss_svg(curve);
  write_file_atomic(path, std::span<const std::uint8_t>(
                              reinterpret_cast<const std::uint8_t*>(svg.data()), svg.size()));
}

}  // namespace peftcpp::train
