// The outputs of gpucost: the `cost` section of the node document, a table for
// people and CSV for spreadsheets, all from the same results.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "cost/decision.hpp"

namespace gpukit {

struct CostResults {
  Inputs inputs;
  std::string site_origin;  // the site file, or "defaults"
  Decision decision;
  std::vector<BreakEven> break_even;
  Sensitivity sensitivity;
  std::optional<MonteCarlo> monte_carlo;  // empty with --samples 0
  std::vector<std::string> notes;         // what a reader must know about the inputs
};

// What the inputs leave open that a reader must know (default prices, missing scores).
std::vector<std::string> input_notes(const Inputs& inputs, const Decision& decision);

// One sentence: which option is cheaper per unit, by how much, and whether it is robust.
std::string decision_summary(const CostResults& results);

json cost_section(const CostResults& results);
std::string cost_table(const CostResults& results);
std::string cost_csv(const CostResults& results);

// Numbers as people read them: 4 significant digits, whole units above 1000.
std::string format_number(double v);

}  // namespace gpukit
