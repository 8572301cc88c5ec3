// The loss curve of a run as a self-contained SVG (train loss per step, eval loss points).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace peftcpp::train {

struct LossCurve {
  std::vector<std::pair<std::int64_t, double>> train;  // (step, loss)
  std::vector<std::pair<std::int64_t, double>> eval;   // (step, loss)
  std::string title = "loss";
};

/// SVG text: axes with ticks, the train curve as a polyline, eval losses as dots, a legend.
std::string render_loss_svg(const LossCurve& curve, int width = 720, int height = 420);
/// Writes render_loss_svg to `path` atomically.
void write_loss_svg(const std::string& path, const LossCurve& curve);

}  // namespace peftcpp::train
