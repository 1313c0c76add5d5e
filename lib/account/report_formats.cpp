// The report's outputs: JSON (report.schema.json), a table, CSV and an SVG
// with the occupancy over time and the precision mix.
#include <algorithm>
#include "core/text_escape.hpp"
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "account/report.hpp"
#include "core/table.hpp"

namespace gpukit {

namespace {

double round_to(double v, double step) {
  double per = std::round(1.0 / step);
  return std::round(v * per) / per;
}

json hours(double h) { return round_to(h, 0.0001); }

json share(double part, double whole) { return whole > 0 ? json(round_to(part / whole, 0.0001)) : json(nullptr); }

std::optional<double> utilization_pct(const ReportGroup& g) {
  if (g.active_known_h <= 0) return std::nullopt;
  return g.active_h / g.active_known_h * 100;
}

double pipes_h(const ReportGroup& g) { return g.fp64_h + g.fp32_h + g.fp16_h + g.tensor_h; }

json precision_mix(const ReportGroup& g) {
  if (g.gpm_h <= 0) return nullptr;
  double sum = pipes_h(g);
  return {{"gpu_hours_with_gpm", hours(g.gpm_h)},
          {"fp64_gpu_hours", hours(g.fp64_h)},
          {"fp32_gpu_hours", hours(g.fp32_h)},
          {"fp16_gpu_hours", hours(g.fp16_h)},
          {"tensor_gpu_hours", hours(g.tensor_h)},
          {"fp64_share", share(g.fp64_h, sum)},
          {"fp32_share", share(g.fp32_h, sum)},
          {"fp16_share", share(g.fp16_h, sum)},
          {"tensor_share", share(g.tensor_h, sum)}};
}

json events_json(const ReportGroup& g) {
  json by_xid = json::object();
  for (const auto& [code, jobs] : g.jobs_by_xid) by_xid[std::to_string(code)] = jobs;
  return {{"jobs_watched", g.jobs_events_watched},
          {"jobs_with_xid", g.jobs_with_xid},
          {"jobs_with_ecc_errors", g.jobs_with_ecc},
          {"jobs_by_xid", by_xid}};
}

// "79 (2), 48 (1)": the jobs per Xid.
std::string xid_cell(const ReportGroup& g) {
  std::string out;
  for (const auto& [code, jobs] : g.jobs_by_xid)
    out += (out.empty() ? "" : ", ") + std::to_string(code) + " (" + std::to_string(jobs) + ")";
  return out.empty() ? "-" : out;
}

json group_json(const ReportGroup& g) {
  auto u = utilization_pct(g);
  return {{"jobs", g.jobs},
          {"gpu_hours_held", hours(g.held_h)},
          {"gpu_hours_active", g.active_known_h > 0 ? hours(g.active_h) : json(nullptr)},
          {"gpu_hours_idle_held", hours(g.idle_held_h)},
          {"utilization_pct", u ? json(round_to(*u, 0.01)) : json(nullptr)},
          {"active_coverage", share(g.active_known_h, g.held_h)},
          {"energy_kwh", g.energy_known_h > 0 ? json(round_to(g.energy_kwh, 0.0001)) : json(nullptr)},
          {"energy_coverage", share(g.energy_known_h, g.held_h)},
          {"score_hours", g.score_known_h > 0 ? json(round_to(g.score_hours, 0.0001)) : json(nullptr)},
          {"score_coverage", share(g.score_known_h, g.held_h)},
          {"precision_mix", precision_mix(g)},
          {"events", events_json(g)}};
}

std::string iso_time(long long epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Bin {
  long long start;
  OccupancyBin value;
};

// Hourly bins, or daily ones when the records span more than two weeks (an
// SVG and a table of a month stay readable).
std::pair<long long, std::vector<Bin>> occupancy_bins(const Report& r) {
  std::vector<Bin> out;
  if (r.occupancy.empty()) return {3600, out};
  long long span_h = r.occupancy.rbegin()->first - r.occupancy.begin()->first + 1;
  long long bin_s = span_h > 14 * 24 ? 86400 : 3600;
  for (const auto& [hour, b] : r.occupancy) {
    long long start = hour * 3600 / bin_s * bin_s;
    if (out.empty() || out.back().start != start) out.push_back({start, {}});
    out.back().value.window_gpu_s += b.window_gpu_s;
    out.back().value.occupied_gpu_s += b.occupied_gpu_s;
  }
  return {bin_s, out};
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string opt_fixed(std::optional<double> v, int decimals) { return v ? fixed(*v, decimals) : "-"; }

std::string share_pct(double part, double whole) { return whole > 0 ? fixed(part / whole * 100, 1) : "-"; }

}  // namespace

json report_to_json(const Report& r) {
  json j;
  j["schema"] = "gpukit-report/1";
  j["generator"] = generator_stamp("gpuaccount");
  json skipped = json::array();
  for (const auto& s : r.skipped) skipped.push_back({{"path", s.path}, {"reason", s.reason}});
  j["inputs"] = {{"files", r.files},
                 {"records", r.records},
                 {"job_records", r.job_records},
                 {"node_records", r.node_records},
                 {"running_records", r.running_records},
                 {"outside_month", r.outside_month},
                 {"ignored_files", r.ignored_files},
                 {"skipped_count", r.skipped_count},
                 {"skipped", skipped}};
  j["period"] = {{"month", r.month ? json(*r.month) : json(nullptr)},
                 {"first", r.first_time.empty() ? json(nullptr) : json(r.first_time)},
                 {"last", r.last_time.empty() ? json(nullptr) : json(r.last_time)}};
  j["usage_classes"] = r.class_source;
  j["total"] = group_json(r.total);
  for (const auto& dim : report_dimensions()) {
    json rows = json::array();
    for (const auto& [key, g] : r.*(dim.groups)) {
      json row = {{"key", key}};
      row.update(group_json(g));
      rows.push_back(std::move(row));
    }
    j[dim.key] = std::move(rows);
  }
  if (r.occupancy.empty()) {
    j["occupancy"] = nullptr;
  } else {
    auto [bin_s, bins] = occupancy_bins(r);
    json rows = json::array();
    for (const auto& b : bins)
      rows.push_back({{"start", iso_time(b.start)},
                      {"gpu_hours", hours(b.value.window_gpu_s / 3600)},
                      {"occupied_gpu_hours", hours(b.value.occupied_gpu_s / 3600)},
                      {"occupancy", share(b.value.occupied_gpu_s, b.value.window_gpu_s)}});
    j["occupancy"] = {{"bin_s", bin_s}, {"bins", rows}};
  }
  return j;
}

std::string render_report_table(const Report& r) {
  std::string period = r.month ? *r.month : r.first_time.empty() ? "-" : r.first_time + " to " + r.last_time;
  const ReportGroup& t = r.total;
  double pipes = pipes_h(t);
  std::string out = render_key_values({
      {"period", period},
      {"records", std::to_string(r.records) + " (" + std::to_string(r.job_records) + " jobs, " +
                      std::to_string(r.node_records) + " node records, " + std::to_string(r.running_records) +
                      " still running)"},
      {"skipped files", std::to_string(r.skipped_count)},
      {"GPU-hours held", fixed(t.held_h, 2)},
      {"GPU-hours active", t.active_known_h > 0 ? fixed(t.active_h, 2) : "-"},
      {"GPU-hours idle-held", fixed(t.idle_held_h, 2)},
      {"utilisation", opt_fixed(utilization_pct(t), 1) + " %"},
      {"energy", t.energy_known_h > 0 ? fixed(t.energy_kwh, 2) + " kWh" : "-"},
      {"score-hours", t.score_known_h > 0 ? fixed(t.score_hours, 2) : "-"},
      {"precision mix", t.gpm_h > 0 ? "FP64 " + share_pct(t.fp64_h, pipes) + " %, FP32 " + share_pct(t.fp32_h, pipes) +
                                          " %, FP16 " + share_pct(t.fp16_h, pipes) + " %, tensor " +
                                          share_pct(t.tensor_h, pipes) + " % (of " + fixed(t.gpm_h, 2) +
                                          " GPU-hours with GPM)"
                                    : "- (no record has GPM activity)"},
      {"GPU errors", t.jobs_events_watched > 0
                         ? std::to_string(t.jobs_with_xid) + " jobs saw an Xid (" + xid_cell(t) + "), " +
                               std::to_string(t.jobs_with_ecc) + " an ECC error, of " +
                               std::to_string(t.jobs_events_watched) + " jobs watched"
                         : "- (no record has error events)"},
  });
  for (const auto& dim : report_dimensions()) {
    Table table({dim.title, "jobs", "GPU-h held", "active", "idle-held", "util %", "kWh", "score-h", "FP64 %", "FP32 %",
                 "FP16 %", "tensor %", "Xid jobs", "ECC jobs"});
    for (const auto& [key, g] : r.*(dim.groups)) {
      double p = pipes_h(g);
      table.add_row({key, std::to_string(g.jobs), fixed(g.held_h, 2), g.active_known_h > 0 ? fixed(g.active_h, 2) : "-",
                     fixed(g.idle_held_h, 2), opt_fixed(utilization_pct(g), 1),
                     g.energy_known_h > 0 ? fixed(g.energy_kwh, 2) : "-", g.score_known_h > 0 ? fixed(g.score_hours, 2) : "-",
                     share_pct(g.fp64_h, p), share_pct(g.fp32_h, p), share_pct(g.fp16_h, p), share_pct(g.tensor_h, p),
                     std::to_string(g.jobs_with_xid), std::to_string(g.jobs_with_ecc)});
    }
    if (!table.empty()) out += "\n" + table.render();
  }
  if (!r.occupancy.empty()) {
    auto [bin_s, bins] = occupancy_bins(r);
    Table table({bin_s == 3600 ? "hour" : "day", "GPU-h", "occupied", "occupancy %"});
    for (const auto& b : bins)
      table.add_row({iso_time(b.start), fixed(b.value.window_gpu_s / 3600, 2), fixed(b.value.occupied_gpu_s / 3600, 2),
                     share_pct(b.value.occupied_gpu_s, b.value.window_gpu_s)});
    out += "\n" + table.render();
  }
  for (const auto& s : r.skipped) out += "\nskipped: " + s.reason;
  if (!r.skipped.empty()) out += "\n";
  return out;
}

std::string render_report_csv(const Report& r) {
  std::string out =
      "dimension,key,jobs,gpu_hours_held,gpu_hours_active,gpu_hours_idle_held,utilization_pct,energy_kwh,score_hours,"
      "gpu_hours_with_gpm,fp64_share,fp32_share,fp16_share,tensor_share,jobs_events_watched,jobs_with_xid,"
      "jobs_with_ecc_errors\n";
  auto row = [&](const std::string& dim, const std::string& key, const ReportGroup& g) {
    double p = pipes_h(g);
    auto sh = [&](double part) { return g.gpm_h > 0 && p > 0 ? fixed(part / p, 4) : std::string(); };
    auto u = utilization_pct(g);
    out += csv_field(dim) + "," + csv_field(key) + "," + std::to_string(g.jobs) + "," + fixed(g.held_h, 4) + "," +
           (g.active_known_h > 0 ? fixed(g.active_h, 4) : "") + "," + fixed(g.idle_held_h, 4) + "," +
           (u ? fixed(*u, 2) : "") + "," + (g.energy_known_h > 0 ? fixed(g.energy_kwh, 4) : "") + "," +
           (g.score_known_h > 0 ? fixed(g.score_hours, 4) : "") + "," + fixed(g.gpm_h, 4) + "," + sh(g.fp64_h) + "," +
           sh(g.fp32_h) + "," + sh(g.fp16_h) + "," + sh(g.tensor_h) + "," + std::to_string(g.jobs_events_watched) + "," +
           std::to_string(g.jobs_with_xid) + "," + std::to_string(g.jobs_with_ecc) + "\n";
  };
  row("total", "", r.total);
  for (const auto& dim : report_dimensions())
    for (const auto& [key, g] : r.*(dim.groups)) row(std::string(dim.key).substr(3), key, g);
  return out;
}

namespace {

constexpr const char* pipe_colours[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd"};
constexpr const char* pipe_names[] = {"FP64", "FP32", "FP16", "tensor"};

void svg_occupancy(std::ostringstream& s, const Report& r, double x0, double y0, double w, double h) {
  s << "<text x='" << x0 << "' y='" << y0 - 10 << "' class='h'>GPU occupancy over time (node records)</text>\n";
  s << "<rect x='" << x0 << "' y='" << y0 << "' width='" << w << "' height='" << h << "' class='frame'/>\n";
  for (int pct : {0, 25, 50, 75, 100}) {
    double y = y0 + h - h * pct / 100.0;
    s << "<line x1='" << x0 << "' x2='" << x0 + w << "' y1='" << y << "' y2='" << y << "' class='grid'/>"
      << "<text x='" << x0 - 6 << "' y='" << y + 4 << "' class='yl'>" << pct << " %</text>\n";
  }
  auto [bin_s, bins] = occupancy_bins(r);
  if (bins.empty()) {
    s << "<text x='" << x0 + w / 2 << "' y='" << y0 + h / 2 << "' class='none'>no node-mode records: no occupancy</text>\n";
    return;
  }
  double t0 = static_cast<double>(bins.front().start), t1 = static_cast<double>(bins.back().start + bin_s);
  auto x_of = [&](double t) { return x0 + (t - t0) / (t1 - t0) * w; };
  // One bar per bin: hours without a node record stay blank, not interpolated.
  for (const auto& b : bins) {
    double occ = b.value.window_gpu_s > 0 ? b.value.occupied_gpu_s / b.value.window_gpu_s : 0;
    double xa = x_of(static_cast<double>(b.start)), xb = x_of(static_cast<double>(b.start + bin_s));
    s << "<rect x='" << fixed(xa, 1) << "' y='" << fixed(y0 + h - h * occ, 1) << "' width='" << fixed(xb - xa, 2)
      << "' height='" << fixed(h * occ, 1) << "' class='occ'/>\n";
  }
  s << "<text x='" << x0 << "' y='" << y0 + h + 16 << "' class='xl'>" << iso_time(bins.front().start).substr(0, bin_s == 3600 ? 16 : 10)
    << "</text><text x='" << x0 + w << "' y='" << y0 + h + 16 << "' class='xr'>"
    << iso_time(bins.back().start + bin_s).substr(0, bin_s == 3600 ? 16 : 10) << "</text>\n";
  s << "<text x='" << x0 + w / 2 << "' y='" << y0 + h + 16 << "' class='xm'>" << (bin_s == 3600 ? "hourly" : "daily")
    << " mean, UTC</text>\n";
}

void svg_mix_bar(std::ostringstream& s, const std::string& label, const ReportGroup& g, double x0, double y, double w) {
  s << "<text x='" << x0 - 6 << "' y='" << y + 13 << "' class='yl'>" << xml_escape(label) << "</text>\n";
  double p = pipes_h(g);
  if (g.gpm_h <= 0 || p <= 0) {
    s << "<text x='" << x0 + 4 << "' y='" << y + 13 << "' class='nl'>no GPM activity</text>\n";
    return;
  }
  double parts[] = {g.fp64_h, g.fp32_h, g.fp16_h, g.tensor_h};
  double x = x0;
  for (int i = 0; i < 4; ++i) {
    double bw = parts[i] / p * w;
    if (bw <= 0) continue;
    s << "<rect x='" << fixed(x, 1) << "' y='" << y << "' width='" << fixed(bw, 1) << "' height='18' fill='"
      << pipe_colours[i] << "'/>";
    if (bw > 34)
      s << "<text x='" << fixed(x + bw / 2, 1) << "' y='" << y + 13 << "' class='in'>" << fixed(parts[i] / p * 100, 0)
        << " %</text>";
    s << "\n";
    x += bw;
  }
  s << "<text x='" << x0 + w + 6 << "' y='" << y + 13 << "' class='nl'>" << fixed(g.gpm_h, 1) << " GPU-h</text>\n";
}

}  // namespace

std::string render_report_svg(const Report& r) {
  const double width = 860, left = 190, plot_w = 560;
  std::vector<std::pair<std::string, const ReportGroup*>> bars = {{"all jobs", &r.total}};
  for (const auto& [model, g] : r.by_model) {
    if (bars.size() >= 9) break;
    bars.emplace_back(model, &g);
  }
  double occ_y = 70, occ_h = 200, mix_y = occ_y + occ_h + 80;
  double height = mix_y + 28 * static_cast<double>(bars.size()) + 60;
  std::ostringstream s;
  s << "<?xml version='1.0' encoding='UTF-8'?>\n"
    << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height << "' viewBox='0 0 " << width
    << " " << height << "' font-family='DejaVu Sans, sans-serif' font-size='12'>\n"
    << "<style>.h{font-weight:bold;font-size:14px}.frame{fill:none;stroke:#444}.grid{stroke:#ddd}"
       ".yl{text-anchor:end}.xl{text-anchor:start}.xr{text-anchor:end}.xm{text-anchor:middle;fill:#555}"
       ".none{text-anchor:middle;fill:#888}.nl{fill:#555}.in{text-anchor:middle;fill:#fff;font-size:11px}"
       ".occ{fill:#4c78a8;fill-opacity:0.75}</style>\n"
    << "<rect width='100%' height='100%' fill='#fff'/>\n";
  std::string period = r.month ? *r.month : r.first_time.empty() ? "no records" : r.first_time.substr(0, 10) + " to " +
                                                                                     r.last_time.substr(0, 10);
  s << "<text x='20' y='28' class='h' font-size='16'>gpuaccount report, " << xml_escape(period) << ": "
    << fixed(r.total.held_h, 1) << " GPU-hours held by " << r.job_records << " jobs, "
    << fixed(r.total.idle_held_h, 1) << " idle-held</text>\n";
  svg_occupancy(s, r, left, occ_y, plot_w, occ_h);
  s << "<text x='" << left << "' y='" << mix_y - 10 << "' class='h'>Precision mix (share of pipe activity in GPU-hours; NVML GPM)</text>\n";
  double y = mix_y;
  for (const auto& [label, g] : bars) {
    svg_mix_bar(s, label, *g, left, y, plot_w);
    y += 28;
  }
  double lx = left;
  for (int i = 0; i < 4; ++i) {
    s << "<rect x='" << lx << "' y='" << y + 6 << "' width='14' height='14' fill='" << pipe_colours[i] << "'/><text x='"
      << lx + 20 << "' y='" << y + 18 << "'>" << pipe_names[i] << (i == 0 ? " (incl. DFMA tensor)" : "") << "</text>\n";
    lx += i == 0 ? 190 : 90;
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace gpukit
