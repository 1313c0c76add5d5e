#include "bench/report.hpp"
#include "core/text_escape.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "bench/hep/validation_stats.hpp"
#include "core/table.hpp"

namespace gpukit {

namespace {

json opt(const std::optional<double>& v) { return v && std::isfinite(*v) ? json(*v) : json(nullptr); }
json text(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

const char* energy_unit(const std::string& unit) {
  if (unit == "GB/s") return "J/GB";
  if (unit == "TFLOP/s") return "J/TFLOP";
  if (unit == "TOP/s") return "J/TOP";
  return nullptr;
}

std::string number(const json& v, int digits = 4) {
  if (!v.is_number()) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.*g", digits, v.get<double>());
  return b;
}

// The run's false-alarm budget and the thresholds derived from it (gpubench(1),
// "Validation and false alarms").
json validation_budget(std::uint64_t checks) {
  const hep::StatisticalThresholds t = hep::thresholds_for_run(checks);
  return {{"false_alarm_budget", hep::run_false_alarm_budget},
          {"statistical_checks", checks},
          {"alpha_per_check", t.alpha},
          {"max_pull_sd", t.max_pull},
          {"min_ks_p", t.min_ks_p}};
}

std::string json_text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return number(v, 9);
  return dump_json(v);
}

std::string short_note(const json& r) {
  std::string note;
  if (r["peak"].is_object() && r["peak"]["flag"].is_string()) note = r["peak"]["flag"].get<std::string>();
  if (r["reason"].is_string()) note += (note.empty() ? "" : "; ") + r["reason"].get<std::string>();
  if (note.size() > 70) note = note.substr(0, 67) + "...";
  return note;
}

}  // namespace

json result_json(const ResultRecord& r) {
  json j;
  j["workload"] = r.workload;
  j["family"] = r.family;
  j["precision"] = r.precision ? json(*r.precision) : json(nullptr);
  j["status"] = r.status;
  j["reason"] = text(r.reason);
  j["value"] = opt(r.value());
  j["unit"] = r.unit;
  if (r.status == "ok" && !r.values.empty())
    j["stats"] = {{"median", r.stats.median}, {"min", r.stats.min},      {"max", r.stats.max},
                  {"mean", r.stats.mean},     {"cv", r.stats.cv},        {"repetitions", r.stats.count},
                  {"values", r.values},       {"higher_is_better", r.higher_is_better}};
  else
    j["stats"] = nullptr;
  j["peak"] = {{"value", opt(r.peak.value)},
               {"fraction", opt(r.peak.fraction)},
               {"source", text(r.peak.source)},
               {"flag", r.peak.flag ? json(*r.peak.flag) : json(nullptr)},
               {"catalogue_value", opt(r.peak.catalogue)}};
  if (r.validated)
    j["validation"] = {{"passed", r.validation.passed},
                       {"max_rel_error", opt(r.validation.max_rel_error)},
                       {"tolerance", opt(r.validation.tolerance)},
                       {"checked", r.validation.checked},
                       {"method", text(r.validation.method)},
                       {"detail", text(r.validation.detail)}};
  else
    j["validation"] = nullptr;
  j["power_w_mean"] = opt(r.power_w_mean);
  j["energy_j"] = opt(r.energy_j);
  j["per_watt"] = opt(r.per_watt);
  const char* eu = energy_unit(r.unit);
  if (r.power_w_mean && eu && r.value() && *r.value() > 0)
    j["energy_per_work"] = {{"value", *r.power_w_mean / *r.value()}, {"unit", eu}};
  else
    j["energy_per_work"] = nullptr;
  j["energy_reason"] = r.power_w_mean ? json(nullptr) : text(r.energy_reason);
  j["telemetry"] = r.telemetry;
  j["problem_size"] = r.problem_size.is_null() ? json::object() : r.problem_size;
  j["details"] = r.details;
  j["duration_s"] = r.duration_s;
  if (!r.devices.empty()) {
    j["devices"] = r.devices;
    j["concurrent"] = r.concurrent;
  }
  return j;
}

json bench_section(const RunReport& run, const ReportContext& ctx) {
  json b;
  b["generator"] = generator_stamp("gpubench");
  b["started_at"] = ctx.started_at;
  b["duration_s"] = run.duration_s;
  b["quick"] = ctx.config.quick;
  b["comparable"] = !ctx.config.quick;
  bool failed = false;
  for (const auto& d : run.devices)
    for (const auto& r : d.results) failed = failed || r.status == "failed";
  for (const auto& r : run.node_results) failed = failed || r.status == "failed";
  b["status"] = run.deadline_hit ? "deadline" : failed ? "failed" : "ok";
  b["config"] = {{"repetitions", ctx.config.repetitions},
                 {"warmup", ctx.config.warmup},
                 {"workload_timeout_s", ctx.config.workload_timeout_s},
                 {"run_timeout_s", ctx.config.run_timeout_s},
                 {"seed", ctx.config.seed},
                 {"workloads", ctx.config.workloads}};
  b["validation"] = validation_budget(run.statistical_checks);
  b["conventions"] = {
      {"bandwidth",
       "1 GB/s = 1e9 bytes/s. stream_*: BabelStream's counting, arrays of 8-byte elements read or written per index "
       "(copy 2, mul 2, add 3, triad 3, dot 2), no write-allocate traffic. Transfers: bytes moved; bidir counts both "
       "directions."},
      {"statistics", "value = median of the repetitions after the warm-up; min, max, mean, cv over the same"},
      {"energy",
       "power_w_mean over a sustained run of the timed region; energy_j = that power x the median time of one "
       "operation; per_watt = value / power_w_mean; energy_per_work = power_w_mean / value"},
      {"quick", "a --quick run is not for accounting or comparison"}};
  json backends = json::array();
  backends.push_back({{"name", "cpu"}, {"file", nullptr}, {"path", nullptr}, {"status", "loaded"}, {"reason", nullptr},
                      {"toolkit_version", nullptr}, {"abi_version", nullptr}});
  for (const auto& p : ctx.plugins)
    backends.push_back({{"name", p.name},
                        {"file", p.file},
                        {"path", text(p.path)},
                        {"status", to_string(p.state)},
                        {"reason", text(p.reason)},
                        {"toolkit_version", text(p.toolkit_version)},
                        {"abi_version", p.abi_version ? json(p.abi_version) : json(nullptr)}});
  b["backends"] = backends;
  b["telemetry"] = ctx.telemetry;
  json devices = json::array();
  for (const auto& d : run.devices) {
    json dj;
    dj["id"] = d.device.id;
    dj["kind"] = d.device.kind;
    dj["name"] = d.device.name;
    dj["backend"] = text(d.device.backend);
    dj["score"] = nullptr;
    dj["workload_scores"] = json::object();
    std::vector<double> powers;
    json results = json::array();
    for (const auto& r : d.results) {
      if (r.power_w_mean) powers.push_back(*r.power_w_mean);
      results.push_back(result_json(r));
    }
    dj["power_w_mean"] = powers.empty() ? json(nullptr) : json(summarize(powers).mean);
    dj["unusable"] = text(d.device.unusable);
    dj["environment"] = d.device.environment;
    dj["results"] = results;
    devices.push_back(dj);
  }
  b["devices"] = devices;
  json node_results = json::array();
  for (const auto& r : run.node_results) node_results.push_back(result_json(r));
  bool concurrent = false;
  for (const auto& r : run.node_results) concurrent = concurrent || r.concurrent;
  b["node"] = {{"devices", run.node_devices},
               {"concurrent", concurrent},
               {"results", node_results}};
  // Filled by score_bench_section (bench/scoring.hpp).
  b["scores"] = nullptr;
  return b;
}

std::string render_bench_table(const json& b) {
  Table t({"DEVICE", "WORKLOAD", "STATUS", "VALUE", "UNIT", "CV %", "PEAK %", "NOTE"});
  auto add = [&](const std::string& device, const json& r) {
    std::string cv = r["stats"].is_object() ? number(json(r["stats"]["cv"].get<double>() * 100), 2) : "-";
    std::string peak = r["peak"]["fraction"].is_number() ? number(json(r["peak"]["fraction"].get<double>() * 100), 3) : "-";
    t.add_row({device, r["workload"].get<std::string>(), r["status"].get<std::string>(), number(r["value"]),
               r["unit"].get<std::string>(), cv, peak, short_note(r)});
  };
  for (const auto& d : b["devices"])
    for (const auto& r : d["results"]) add(d["id"].get<std::string>(), r);
  for (const auto& r : b["node"]["results"]) add("node", r);
  std::ostringstream out;
  if (b["quick"].get<bool>()) out << "gpubench --quick: not for accounting or comparison\n";
  out << t.render();
  if (const json& s = b["scores"]; s.is_object()) {
    auto value = [](const json& v) { return v.is_number() ? number(v, 5) : std::string("-"); };
    out << "HEP score (" << s["benchmark_type"].get<std::string>() << ", reference " << s["reference"].get<std::string>()
        << (s["reference_provisional"].get<bool>() ? ", provisional" : "") << "): node " << value(s["node"])
        << ", GPU node " << value(s["gpu_node"]) << ", CPU node " << value(s["cpu_node"]) << ", CPU per core "
        << value(s["cpu_per_core"]) << "\n";
  }
  for (const auto& be : b["backends"])
    if (be["status"] != "loaded") out << "backend " << be["name"].get<std::string>() << ": " << json_text(be["reason"]) << "\n";
  return out.str();
}

std::string render_bench_csv(const json& b) {
  std::ostringstream out;
  out << "device,kind,workload,precision,status,value,unit,median,min,max,cv,repetitions,peak,peak_fraction,flag,"
         "power_w_mean,per_watt,reason\n";
  auto row = [&](const std::string& device, const std::string& kind, const json& r) {
    const json& s = r["stats"];
    auto stat = [&](const char* k) { return s.is_object() ? json_text(s[k]) : std::string(); };
    std::vector<std::string> cells = {device,
                                      kind,
                                      r["workload"].get<std::string>(),
                                      json_text(r["precision"]),
                                      r["status"].get<std::string>(),
                                      json_text(r["value"]),
                                      r["unit"].get<std::string>(),
                                      stat("median"),
                                      stat("min"),
                                      stat("max"),
                                      stat("cv"),
                                      stat("repetitions"),
                                      json_text(r["peak"]["value"]),
                                      json_text(r["peak"]["fraction"]),
                                      json_text(r["peak"]["flag"]),
                                      json_text(r["power_w_mean"]),
                                      json_text(r["per_watt"]),
                                      json_text(r["reason"])};
    for (size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_field(cells[i]);
    out << "\n";
  };
  for (const auto& d : b["devices"])
    for (const auto& r : d["results"]) row(d["id"].get<std::string>(), d["kind"].get<std::string>(), r);
  for (const auto& r : b["node"]["results"]) row("node", "node", r);
  return out.str();
}

}  // namespace gpukit
