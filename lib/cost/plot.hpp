// A picture of the decision (gpucost --plot FILE.svg): cost and carbon per unit
// of work as stacked bars, and the tornado of the sensitivity analysis. Plain
// SVG 1.1 that rsvg-convert and browsers render alike.
#pragma once

#include <string>

#include "cost/report.hpp"

namespace gpukit {

std::string cost_plot_svg(const CostResults& results);

}  // namespace gpukit
