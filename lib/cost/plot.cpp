#include "cost/plot.hpp"
#include "core/text_escape.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gpukit {

namespace {

constexpr double width = 980;
constexpr double label_width = 250;               // option and input names
constexpr double plot_width = width - label_width - 190;  // room for the value after a bar
constexpr double tornado_width = plot_width - 40;          // and for "low to high" and "flips"
constexpr double bar_height = 24;
constexpr double bar_gap = 10;
const char* const font = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string shorten(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "\u2026"; }

class Svg {
 public:
  void text(double x, double y, const std::string& s, double size = 13, const char* anchor = "start",
            const char* weight = "normal", const char* fill = "#222") {
    body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(size) + "\" text-anchor=\"" + anchor +
             "\" font-weight=\"" + weight + "\" fill=\"" + fill + "\">" + xml_escape(s) + "</text>\n";
  }
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& title = {}) {
    body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(std::max(w, 0.0)) + "\" height=\"" +
             num(h) + "\" fill=\"" + fill + "\"";
    body_ += title.empty() ? "/>\n" : "><title>" + xml_escape(title) + "</title></rect>\n";
  }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double w = 1, bool dashed = false) {
    body_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
             "\" stroke=\"" + stroke + "\" stroke-width=\"" + num(w) + "\"" +
             (dashed ? " stroke-dasharray=\"6,4\"" : "") + "/>\n";
  }
  std::string finish(double height) const {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + num(width) + "\" height=\"" +
           num(height) + "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\" font-family=\"" + font + "\">\n" +
           "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"white\"/>\n" + body_ +
           "</svg>\n";
  }

 private:
  std::string body_;
};

// Words wrapped to lines of at most `n` characters.
std::vector<std::string> wrap(const std::string& s, size_t n) {
  std::vector<std::string> lines;
  std::string line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line.empty() && line.size() + 1 + word.size() > n) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    word.clear();
  };
  for (char c : s) {
    if (c == ' ') flush_word();
    else word += c;
  }
  flush_word();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

struct Segment {
  const char* name;
  const char* colour;
};

constexpr Segment cost_segments[] = {{"capital", "#4e79a7"},
                                     {"energy", "#f28e2b"},
                                     {"maintenance", "#76b7b2"},
                                     {"hosting", "#59a14f"},
                                     {"failures", "#e15759"}};
constexpr Segment carbon_segments[] = {{"operational", "#9c755f"}, {"embodied", "#bab0ac"}};

void legend(Svg& svg, double y, const Segment* segs, size_t n) {
  double x = label_width;
  for (size_t i = 0; i < n; ++i) {
    svg.rect(x, y - 11, 14, 14, segs[i].colour);
    svg.text(x + 19, y, segs[i].name, 12);
    x += 30 + 8.0 * static_cast<double>(std::string(segs[i].name).size()) + 10;
  }
}

// Stacked horizontal bars, one per option. Returns the y below the panel.
double stacked_panel(Svg& svg, double y, const std::string& title, const Segment* segs, size_t nseg,
                     const std::vector<std::string>& labels, const std::vector<std::optional<std::vector<double>>>& parts,
                     const std::string& unit, std::optional<size_t> mark, const std::string& mark_text) {
  svg.text(20, y, title, 16, "start", "bold");
  y += 24;
  legend(svg, y, segs, nseg);
  y += 16;
  double max_total = 0;
  for (const auto& p : parts)
    if (p) {
      double t = 0;
      for (double v : *p) t += v;
      max_total = std::max(max_total, t);
    }
  const double scale = max_total > 0 ? plot_width / max_total : 0;
  const double bars_top = y;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double top = y;
    svg.text(label_width - 10, top + bar_height * 0.68, shorten(labels[i], 34), 13, "end");
    if (!parts[i]) {
      svg.text(label_width, top + bar_height * 0.68, "no score: no cost per unit", 12, "start", "normal", "#888");
    } else {
      double x = label_width, total = 0;
      for (size_t s = 0; s < nseg; ++s) {
        double v = (*parts[i])[s];
        svg.rect(x, top, v * scale, bar_height, segs[s].colour, std::string(segs[s].name) + ": " + format_number(v) + " " + unit);
        x += v * scale;
        total += v;
      }
      std::string value = format_number(total) + " " + unit;
      if (mark && *mark == i) value += "  " + mark_text;
      svg.text(x + 8, top + bar_height * 0.68, value, 13, "start", mark && *mark == i ? "bold" : "normal");
    }
    y += bar_height + bar_gap;
  }
  svg.line(label_width, bars_top - 4, label_width, y - bar_gap + 4, "#444");
  return y + 16;
}

double tornado_panel(Svg& svg, double y, const Sensitivity& s) {
  std::vector<const TornadoRow*> rows;
  for (const auto& r : s.rows)
    if (r.swing() > 0 && rows.size() < 12) rows.push_back(&r);
  char pct[16];
  std::snprintf(pct, sizeof pct, "%.0f %%", s.variation * 100);
  svg.text(20, y, std::string("Sensitivity: each input moved by -/+") + pct + ", the others fixed", 16, "start", "bold");
  y += 20;
  svg.text(20, y, "value: " + s.value_name + (s.is_ratio ? " (above 1: the other option is cheaper)" : ""), 12, "start",
           "normal", "#444");
  y += 18;
  Segment keys[] = {{"input lowered", "#4e79a7"}, {"input raised", "#f28e2b"}};
  legend(svg, y, keys, 2);
  y += 14;
  if (rows.empty()) {
    svg.text(label_width, y + 18, "no input changes the value", 12, "start", "normal", "#888");
    return y + 40;
  }
  double lo = s.base_value, hi = s.base_value;
  for (const auto* r : rows) {
    lo = std::min({lo, r->value_low, r->value_high});
    hi = std::max({hi, r->value_low, r->value_high});
  }
  if (s.is_ratio && lo <= 1.15 && hi >= 0.85) {
    lo = std::min(lo, 1.0);
    hi = std::max(hi, 1.0);
  }
  const double pad = (hi - lo) * 0.06 + 1e-12;
  lo -= pad;
  hi += pad;
  const bool break_even_line = s.is_ratio && lo < 1 && hi > 1;
  if (break_even_line) y += 14;  // room for its label above the bars
  auto x_of = [&](double v) { return label_width + (v - lo) / (hi - lo) * tornado_width; };
  const double values_x = label_width + tornado_width + 12;
  const double top = y + 4;
  for (const auto* r : rows) {
    const double cy = y + 4;
    svg.text(label_width - 10, cy + bar_height * 0.68, shorten(r->input, 36), 12, "end");
    double xb = x_of(s.base_value);
    double xl = x_of(r->value_low), xh = x_of(r->value_high);
    svg.rect(std::min(xb, xl), cy, std::fabs(xl - xb), bar_height, "#4e79a7",
             r->input + " " + format_number(r->low) + ": " + format_number(r->value_low));
    svg.rect(std::min(xb, xh), cy, std::fabs(xh - xb), bar_height, "#f28e2b",
             r->input + " " + format_number(r->high) + ": " + format_number(r->value_high));
    svg.text(values_x, cy + bar_height * 0.68,
             format_number(std::min(r->value_low, r->value_high)) + " to " +
                 format_number(std::max(r->value_low, r->value_high)),
             11, "start", "normal", "#444");
    if (r->flips) svg.text(width - 12, cy + bar_height * 0.68, "flips", 13, "end", "bold", "#c00000");
    y += bar_height + 6;
  }
  const double bottom = y + 2;
  svg.line(x_of(s.base_value), top - 6, x_of(s.base_value), bottom, "#222", 1.5);
  svg.text(x_of(s.base_value), bottom + 14, "base " + format_number(s.base_value), 11, "middle");
  if (break_even_line) {
    svg.line(x_of(1), top - 6, x_of(1), bottom, "#c00000", 1.5, true);
    svg.text(x_of(1), top - 10, "break-even (1)", 11, "middle", "normal", "#c00000");
  }
  // Axis with five ticks.
  svg.line(label_width, bottom + 22, label_width + tornado_width, bottom + 22, "#888");
  for (int i = 0; i <= 4; ++i) {
    double v = lo + (hi - lo) * i / 4;
    svg.line(x_of(v), bottom + 22, x_of(v), bottom + 27, "#888");
    svg.text(x_of(v), bottom + 40, format_number(v), 11, "middle", "normal", "#444");
  }
  return bottom + 60;
}

}  // namespace

std::string cost_plot_svg(const CostResults& r) {
  Svg svg;
  const Decision& d = r.decision;
  const std::string unit_name = std::string(metric_name(d.metric)) + " score-hour";
  double y = 34;
  const std::string title = d.cheapest ? "gpucost: which option delivers a " + unit_name + " for less?"
                                       : std::string("gpucost: annual cost of ownership and carbon");
  svg.text(20, y, title, 20, "start", "bold");
  y += 22;
  for (const auto& line : wrap(decision_summary(r), 130)) {
    svg.text(20, y, line, 13, "start", "normal", "#333");
    y += 17;
  }
  y += 18;

  std::vector<std::string> labels;
  std::vector<std::optional<std::vector<double>>> cost, carbon;
  bool any_unit = false;
  for (const auto& o : d.options) any_unit = any_unit || o.per_unit.has_value();
  for (const auto& o : d.options) {
    labels.push_back(o.label);
    if (any_unit) {
      if (o.per_unit) {
        const PerScoreHour& p = *o.per_unit;
        cost.push_back(std::vector<double>{p.cost.capital, p.cost.energy, p.cost.maintenance, p.cost.hosting, p.cost.failures});
        carbon.push_back(std::vector<double>{p.carbon_g.operational, p.carbon_g.embodied});
      } else {
        cost.push_back(std::nullopt);
        carbon.push_back(std::nullopt);
      }
    } else {
      const CostParts& a = o.cost.annual;
      cost.push_back(std::vector<double>{a.capital, a.energy, a.maintenance, a.hosting, a.failures});
      carbon.push_back(std::vector<double>{o.cost.annual_carbon_kg.operational, o.cost.annual_carbon_kg.embodied});
    }
  }
  const std::string money = r.inputs.currency;
  if (any_unit) {
    y = stacked_panel(svg, y, "Cost per " + unit_name, cost_segments, 5, labels, cost, money, d.cheapest, "cheapest");
    y = stacked_panel(svg, y, "Carbon per " + unit_name, carbon_segments, 2, labels, carbon, "gCO2e", std::nullopt, "");
  } else {
    y = stacked_panel(svg, y, "Annual cost per node (no scores: no cost per unit)", cost_segments, 5, labels, cost, money,
                      std::nullopt, "");
    y = stacked_panel(svg, y, "Annual carbon per node", carbon_segments, 2, labels, carbon, "kgCO2e", std::nullopt, "");
  }
  y = tornado_panel(svg, y + 6, r.sensitivity);

  if (r.monte_carlo && !r.monte_carlo->labels.empty()) {
    const MonteCarlo& m = *r.monte_carlo;
    std::string s = "Monte Carlo, " + std::to_string(m.samples) + " draws (seed " + std::to_string(m.seed) + ") over " +
                    std::to_string(m.varied.size()) + " documented ranges: P(cheapest)";
    for (size_t i = 0; i < m.labels.size(); ++i) {
      char p[16];
      std::snprintf(p, sizeof p, "%.0f %%", m.p_cheapest[i] * 100);
      s += (i ? ", " : " ") + m.labels[i] + " " + p;
    }
    for (const auto& line : wrap(s, 130)) {
      svg.text(20, y, line, 13, "start", "normal", "#333");
      y += 17;
    }
  }
  return svg.finish(y + 14);
}

}  // namespace gpukit
