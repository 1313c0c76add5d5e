#include "account/formats.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "core/fsroot.hpp"
#include "core/table.hpp"
#include "core/units.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

namespace {

std::string str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return {};
  return j[key].get<std::string>();
}

// "2026-11-24T03:13:25Z" -> (11, 2026)
std::pair<int, int> month_year(const std::string& iso) {
  int y = 0, mo = 0;
  if (std::sscanf(iso.c_str(), "%d-%d", &y, &mo) == 2 && mo >= 1 && mo <= 12) return {mo, y};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return {tm.tm_mon + 1, tm.tm_year + 1900};
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// A mandatory string field APEL would accept, or the error that says which.
Status apel_mandatory(const std::string& value, const char* field, const std::string& when_unknown) {
  if (value.empty()) return usage_error(when_unknown, field);
  if (apel_null(value))
    return usage_error("\"" + value + "\" is what APEL's loader reads as NULL, refused in a mandatory field", field);
  return {};
}

}  // namespace

// apel/db/records/record.py check_for_null: str(value).lower() in ['none', 'null', ''].
bool apel_null(const std::string& value) {
  std::string v = trim(value);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v.empty() || v == "none" || v == "null";
}

Result<std::vector<json>> apel_records(const json& account) {
  const json& id = account.value("identity", json::object());
  std::string site = str(id, "site"), job = str(id, "job_id"), fqan = str(id, "fqan");
  // A record APEL rejects is never written: the job's accounting would be lost
  // downstream, silently.
  for (auto st : {apel_mandatory(site, "SiteName", "the site is unknown: give --site or set \"site\" in the site file"),
                  apel_mandatory(job, "AssociatedRecord", "the job id is unknown: give --job-id or run under HTCondor, Slurm or PBS"),
                  apel_mandatory(fqan, "FQAN",
                                 "the FQAN is unknown (no --fqan, job ad, VOMS proxy, --vo or site file vo): "
                                 "APEL rejects a record without one")})
    if (!st) return st.error();
  // Only a DN is a GlobalUserName; a batch system's local user name is not.
  json user = str(id, "user").empty() || str(id, "user_kind") == "local" || apel_null(str(id, "user"))
                  ? json(nullptr)
                  : json(str(id, "user"));
  const json& gpus = account.value("gpus", json::array());
  if (gpus.empty()) return usage_error("the job held no GPU: there is no accelerator usage to report", "UsageRecords");

  struct Group {
    double count = 0, held = 0, active = 0;
    bool active_known = true;
  };
  std::map<std::string, Group> by_model;
  std::vector<std::string> order;
  for (const auto& g : gpus) {
    std::string model = str(g, "model").empty() || apel_null(str(g, "model")) ? "unknown" : str(g, "model");
    if (!by_model.count(model)) order.push_back(model);
    Group& grp = by_model[model];
    double count = g.value("count", 0.0);
    grp.count += count;
    grp.held += g.value("available_s", 0.0) * count;
    if (g.contains("active_s") && g["active_s"].is_number()) grp.active += g["active_s"].get<double>();
    else grp.active_known = false;
  }
  auto [month, year] = month_year(str(account, "end_time").empty() ? str(account, "start_time") : str(account, "end_time"));
  std::optional<std::string> bench_type;
  std::map<std::string, double> bench_by_model;
  if (account.contains("normalised") && account["normalised"].is_object() && account["normalised"]["gpu"].is_object()) {
    const json& n = account["normalised"]["gpu"];
    bench_type = str(n, "benchmark_type");
    for (const auto& d : n.value("devices", json::array()))
      if (d["score"].is_number()) bench_by_model[str(d, "model")] = d["score"].get<double>();
  }
  std::vector<json> records;
  for (const auto& model : order) {
    const Group& g = by_model[model];
    double count = std::round(g.count * 1000) / 1000;
    json r;
    r["MeasurementMonth"] = month;
    r["MeasurementYear"] = year;
    r["AssociatedRecordType"] = "job";
    r["AssociatedRecord"] = job;
    r["GlobalUserName"] = user;
    r["FQAN"] = fqan;
    r["SiteName"] = site;
    r["Count"] = count;
    r["Cores"] = id.contains("cores") && id["cores"].is_number_integer() ? id["cores"] : json(nullptr);
    // Durations are per unit of Count, so that Duration x Count gives GPU-seconds
    // as AvailableDuration x Count x Benchmark gives normalised GPU-hours.
    r["ActiveDuration"] = g.active_known && g.count > 0 ? json(std::llround(g.active / g.count)) : json(nullptr);
    r["AvailableDuration"] = g.count > 0 ? std::llround(g.held / g.count) : 0LL;
    auto score = bench_by_model.find(model);
    r["BenchmarkType"] = bench_type && score != bench_by_model.end() ? json(*bench_type) : json(nullptr);
    r["Benchmark"] = score != bench_by_model.end() ? json(std::round(score->second * 1000) / 1000) : json(nullptr);
    r["Type"] = "GPU";
    r["Model"] = model;
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<json> apel_messages(const std::vector<json>& records) {
  std::vector<json> messages;
  for (std::size_t i = 0; i < records.size(); i += apel_max_records) {
    json chunk = json::array();
    for (std::size_t k = i; k < records.size() && k < i + apel_max_records; ++k) chunk.push_back(records[k]);
    messages.push_back({{"Type", "APEL-accelerator-message"}, {"Version", "0.1"}, {"UsageRecords", chunk}});
  }
  return messages;
}

Result<std::string> render_apel(const json& account) {
  auto records = apel_records(account);
  if (!records) return records.error();
  std::string out;
  for (const auto& m : apel_messages(*records)) out += dump_json(m) + "\n";
  return out;
}

namespace {

// The Prometheus textfile, as a table of metric definitions: a new metric is
// one row. Rows of the same name are one family (one HELP and TYPE, samples
// together, as the exposition format requires).

// Where a row's samples come from.
enum class Scope {
  file,      // the account, once per file, in every mode
  job,       // the account, in job modes (wrap, attach)
  device,    // each device record (GPU or MIG instance)
  node_gpu,  // each physical GPU, in node mode: what is installed
};

struct Point {
  std::string labels;  // beyond the file's and the device's own
  double value;
};

struct MetricDef {
  const char* name;
  const char* type;
  const char* help;
  Scope scope;
  const char* pointer = nullptr;  // JSON pointer (object keys) to a number in the record
  double scale = 1;               // to base units (MHz -> Hz, % -> ratio)
  const char* labels = "";        // this row's own labels
  // Instead of `pointer`: the samples of a record (several, or none).
  std::vector<Point> (*points)(const json& record, const json& account) = nullptr;
};

// The number at a pointer of object keys ("/cpu/utime_s"), or nothing.
std::optional<double> number_at(const json& record, const char* pointer) {
  const json* at = &record;
  std::string p = pointer;
  for (std::size_t i = 1; i <= p.size();) {
    std::size_t next = p.find('/', i);
    if (next == std::string::npos) next = p.size();
    std::string key = p.substr(i, next - i);
    if (!at->is_object() || !at->contains(key)) return std::nullopt;
    at = &(*at)[key];
    i = next + 1;
  }
  if (!at->is_number()) return std::nullopt;
  return at->get<double>();
}

// One 0/1 series per reason wherever the mask was read: an alert can then
// tell "not throttled" from "not known".
std::vector<Point> throttle_points(const json& device, const json&) {
  const json& sample = device.value("last_sample", json());
  if (!sample.is_object() || !sample.contains("throttle_reasons") || !sample["throttle_reasons"].is_array()) return {};
  std::vector<std::string> active;
  for (const auto& r : sample["throttle_reasons"])
    if (r.is_string()) active.push_back(r.get<std::string>());
  std::vector<Point> out;
  auto is_active = [&](const std::string& r) { return std::find(active.begin(), active.end(), r) != active.end(); };
  for (const char* r : throttle_reason_vocabulary) out.push_back({"reason=\"" + std::string(r) + "\"", is_active(r) ? 1.0 : 0.0});
  for (const auto& r : active) {
    bool known = std::any_of(std::begin(throttle_reason_vocabulary), std::end(throttle_reason_vocabulary),
                             [&](const char* v) { return r == v; });
    if (!known) out.push_back({"reason=\"" + escape_label(r) + "\"", 1.0});
  }
  return out;
}

// Held GPU-seconds x the device's benchmark score: score-hours x 3600.
std::vector<Point> score_points(const json& device, const json& account) {
  const json& n = account.value("normalised", json());
  if (!n.is_object() || !n.contains("gpu") || !n["gpu"].is_object()) return {};
  auto held = number_at(device, "/held_s");
  if (!held) return {};
  for (const auto& d : n["gpu"].value("devices", json::array())) {
    if (str(d, "uuid") != str(device, "uuid") || !d.contains("score") || !d["score"].is_number()) continue;
    return {{"benchmark=\"" + escape_label(str(n["gpu"], "benchmark_type")) + "\"", *held * d["score"].get<double>()}};
  }
  return {};
}

// One series per catalogued Xid and one for the others, 0 included, wherever
// the device's Xid events were watched: "none seen" and "not watched" differ.
std::vector<Point> xid_points(const json& device, const json&) {
  const json& events = device.value("events", json());
  if (!events.is_object() || !events.contains("xid") || !events["xid"].is_object()) return {};
  std::map<std::string, double> counts;
  for (int code : xid_catalogue) counts[std::to_string(code)] = 0;
  counts["other"] = 0;
  const json by_code = events["xid"].value("by_code", json::object());
  for (const auto& [code, n] : by_code.items()) {
    if (!n.is_number()) continue;
    auto it = counts.find(code);
    (it != counts.end() && code != "other" ? it->second : counts["other"]) += n.get<double>();
  }
  std::vector<Point> out;
  for (int code : xid_catalogue) out.push_back({"xid=\"" + std::to_string(code) + "\"", counts[std::to_string(code)]});
  out.push_back({"xid=\"other\"", counts["other"]});
  return out;
}

std::vector<Point> installed_points(const json&, const json&) { return {{"", 1.0}}; }

std::vector<Point> timestamp_points(const json&, const json&) {
  return {{"", static_cast<double>(std::time(nullptr))}};
}

const MetricDef prometheus_metrics[] = {
    {"gpukit_job_wall_seconds_total", "counter", "Wall time of the job so far.", Scope::job, "/wall_s"},
    {"gpukit_job_cpu_seconds_total", "counter", "CPU time of the job's process tree.", Scope::job, "/cpu/utime_s", 1, "mode=\"user\""},
    {"gpukit_job_cpu_seconds_total", "counter", "", Scope::job, "/cpu/stime_s", 1, "mode=\"system\""},
    {"gpukit_job_memory_rss_max_bytes", "gauge", "Largest resident set of the process tree.", Scope::job, "/cpu/max_rss_bytes"},
    {"gpukit_gpu_info", "gauge", "A physical GPU installed in the node (node mode): count them for the GPUs installed.",
     Scope::node_gpu, nullptr, 1, "", installed_points},
    {"gpukit_gpu_held_ratio", "gauge", "Fraction of a physical GPU held (1, a MIG slice, or a share).", Scope::device, "/count"},
    {"gpukit_gpu_available_seconds_total", "counter", "Wall seconds the device was held.", Scope::device, "/available_s"},
    {"gpukit_gpu_held_seconds_total", "counter", "GPU-seconds held, in physical-GPU units (available seconds x held ratio).",
     Scope::device, "/held_s"},
    {"gpukit_gpu_active_seconds_total", "counter", "Utilisation-weighted busy seconds, in physical-GPU units.", Scope::device,
     "/active_s"},
    {"gpukit_gpu_utilization_ratio", "gauge", "Mean utilisation of what was held.", Scope::device, "/utilization_mean_pct", 0.01},
    {"gpukit_gpu_memory_max_bytes", "gauge", "Largest device memory used.", Scope::device, "/memory_max_bytes"},
    {"gpukit_gpu_energy_joules_total", "counter", "Energy attributed, from the device energy counter where it exists.",
     Scope::device, "/energy_j"},
    {"gpukit_gpu_power_mean_watts", "gauge", "Mean power attributed.", Scope::device, "/power_mean_w"},
    {"gpukit_gpu_occupancy_ratio", "gauge", "Fraction of the window with at least one process on the device.", Scope::device,
     "/occupancy"},
    {"gpukit_gpu_healthy", "gauge", "1 when no gpuprobe --health check failed on the device, 0 when one did.", Scope::device,
     "/healthy"},
    {"gpukit_gpu_score_seconds_total", "counter",
     "Held GPU-seconds times the device's benchmark score (score-hours x 3600).", Scope::device, nullptr, 1, "", score_points},
    {"gpukit_gpu_temperature_celsius", "gauge", "GPU temperature at the last sample.", Scope::device, "/last_sample/temperature_c"},
    {"gpukit_gpu_clock_hertz", "gauge", "Clock at the last sample.", Scope::device, "/last_sample/sm_clock_mhz", 1e6,
     "clock=\"sm\""},
    {"gpukit_gpu_clock_hertz", "gauge", "", Scope::device, "/last_sample/memory_clock_mhz", 1e6, "clock=\"memory\""},
    {"gpukit_gpu_power_watts", "gauge", "Board power at the last sample (the whole device, whoever uses it).", Scope::device,
     "/last_sample/power_w"},
    {"gpukit_gpu_memory_used_bytes", "gauge", "Device memory used at the last sample (the whole device).", Scope::device,
     "/last_sample/memory_used_bytes"},
    {"gpukit_gpu_throttle_reason", "gauge", "1 while the clocks are held down for this reason at the last sample, else 0.",
     Scope::device, nullptr, 1, "", throttle_points},
    {"gpukit_gpu_ecc_errors_total", "counter", "ECC errors counted by the driver since it loaded (volatile counters).",
     Scope::device, "/last_sample/ecc_corrected_volatile", 1, "type=\"corrected\",counter=\"volatile\""},
    {"gpukit_gpu_ecc_errors_total", "counter", "", Scope::device, "/last_sample/ecc_uncorrected_volatile", 1,
     "type=\"uncorrected\",counter=\"volatile\""},
    {"gpukit_gpu_xid_events_total", "counter",
     "Xid critical errors the driver reported for the device while watched (the job; node mode: the window), by Xid (NVML events); "
     "xid=\"other\" counts those outside the catalogue gpuaccount(1) explains.",
     Scope::device, nullptr, 1, "", xid_points},
    {"gpukit_gpu_ecc_events_total", "counter", "ECC error events the driver reported for the device while watched (NVML events).",
     Scope::device, "/events/ecc_single_bit_events", 1, "type=\"single_bit\""},
    {"gpukit_gpu_ecc_events_total", "counter", "", Scope::device, "/events/ecc_double_bit_events", 1, "type=\"double_bit\""},
    {"gpukit_gpu_retired_pages_total", "counter", "Device memory pages retired while watched (ECC page retirement).",
     Scope::device, "/events/retired_pages"},
    {"gpukit_gpu_remapped_rows_total", "counter", "DRAM rows remapped while watched (row remapping).", Scope::device,
     "/events/remapped_rows"},
    {"gpukit_account_interval_seconds", "gauge", "Seconds between rewrites of this file (gpuaccount --interval).", Scope::file,
     "/interval_s"},
    {"gpukit_account_last_update_timestamp_seconds", "gauge", "When gpuaccount last rewrote this file (Unix time).",
     Scope::file, nullptr, 1, "", timestamp_points},
};

std::string join_labels(const std::string& a, const std::string& b) {
  return a.empty() ? b : b.empty() ? a : a + "," + b;
}

// The job's labels on every series of its file: job_id (not `job`, which
// Prometheus gives the scrape job), and the owner and VO where known, so that
// rules can sum by them.
std::string job_labels(const json& account) {
  if (str(account, "mode") == "node") return "";
  const json& id = account.value("identity", json::object());
  std::string labels = "job_id=\"" + escape_label(str(id, "job_id")) + "\"";
  if (!str(id, "user").empty()) labels += ",user=\"" + escape_label(str(id, "user")) + "\"";
  std::string vo = str(id, "vo");
  if (vo.empty()) {
    // The VO is the FQAN's first group: "/atlas/Role=production" -> "atlas".
    std::string fqan = str(id, "fqan");
    if (fqan.size() > 1 && fqan[0] == '/') vo = fqan.substr(1, fqan.find('/', 1) - 1);
  }
  if (!vo.empty()) labels += ",vo=\"" + escape_label(vo) + "\"";
  return labels;
}

std::string device_labels(const json& g) {
  bool mig = str(g, "kind") == "mig";
  return "uuid=\"" + escape_label(mig ? str(g, "parent_uuid") : str(g, "uuid")) + "\",mig_instance=\"" +
         escape_label(mig ? str(g, "uuid") : "") + "\",model=\"" + escape_label(str(g, "model")) + "\"";
}

// The samples of one row over the account.
std::string render_row(const MetricDef& m, const json& account, const std::string& file_labels) {
  bool node = str(account, "mode") == "node";
  std::vector<std::pair<const json*, std::string>> records;  // record, its labels
  switch (m.scope) {
    case Scope::file: records.emplace_back(&account, file_labels); break;
    case Scope::job:
      if (!node) records.emplace_back(&account, file_labels);
      break;
    case Scope::device:
    case Scope::node_gpu:
      if (m.scope == Scope::node_gpu && !node) break;
      if (!account.contains("gpus") || !account["gpus"].is_array()) break;
      for (const auto& g : account["gpus"]) {  // pointers into the account: no copy
        if (!g.is_object() || (m.scope == Scope::node_gpu && str(g, "kind") == "mig")) continue;
        records.emplace_back(&g, join_labels(file_labels, device_labels(g)));
      }
      break;
  }
  std::string out;
  for (const auto& [record, labels] : records) {
    std::vector<Point> points;
    if (m.points) {
      points = m.points(*record, account);
    } else if (auto v = number_at(*record, m.pointer)) {  // unknown: no sample rather than a fake 0
      points.push_back({m.labels, *v * m.scale});
    }
    for (const auto& p : points) {
      std::string all = join_labels(labels, p.labels);
      out += std::string(m.name) + (all.empty() ? "" : "{" + all + "}") + " " + number(p.value) + "\n";
    }
  }
  return out;
}

}  // namespace

std::string render_prometheus(const json& account) {
  std::string file_labels = job_labels(account);
  std::string out;
  const auto* end = std::end(prometheus_metrics);
  for (const auto* m = std::begin(prometheus_metrics); m != end; ++m) {
    bool first_of_family = std::none_of(std::begin(prometheus_metrics), m, [&](const MetricDef& o) {
      return std::string(o.name) == m->name;
    });
    if (!first_of_family) continue;
    std::string samples;
    for (const auto* row = m; row != end; ++row)
      if (std::string(row->name) == m->name) samples += render_row(*row, account, file_labels);
    if (samples.empty()) continue;
    out += std::string("# HELP ") + m->name + " " + m->help + "\n# TYPE " + m->name + " " + m->type + "\n" + samples;
  }
  // The GPM activity families (formats_activity.cpp), labelled like every device row.
  out += render_prometheus_activity(account, [&](const json& g) { return join_labels(file_labels, device_labels(g)); });
  return out;
}

const std::vector<std::string>& series_columns() {
  static const std::vector<std::string> columns = {
      "Time", "wtime", "utime", "stime", "nprocs", "nthreads", "pss", "rss", "swap", "vmem",
      "rchar", "read_bytes", "wchar", "write_bytes", "ngpus", "gpusmpct", "gpumempct", "gpufbmem",
      "gpu_power_w", "gpu_energy_j", "gpu_active_s", "gpu_sm_active_pct", "gpu_tensor_active_pct",
      "gpu_fp64_active_pct", "gpu_fp32_active_pct", "gpu_fp16_active_pct", "gpu_dram_active_pct"};
  return columns;
}

std::string series_header() {
  std::string h;
  for (const auto& c : series_columns()) h += (h.empty() ? "" : "\t") + c;
  return h + "\n";
}

std::string series_row(const SeriesRow& r) {
  std::string s;
  auto add = [&](const std::string& v) { s += (s.empty() ? "" : "\t") + v; };
  add(std::to_string(r.time));
  add(fixed(r.wtime, 3));
  add(fixed(r.utime, 2));
  add(fixed(r.stime, 2));
  add(std::to_string(r.nprocs));
  add(std::to_string(r.nthreads));
  add(std::to_string(r.pss));
  add(std::to_string(r.rss));
  add(std::to_string(r.swap));
  add(std::to_string(r.vmem));
  add(std::to_string(r.rchar));
  add(std::to_string(r.read_bytes));
  add(std::to_string(r.wchar));
  add(std::to_string(r.write_bytes));
  add(std::to_string(r.ngpus));
  add(fixed(r.gpusmpct, 1));
  add(fixed(r.gpumempct, 1));
  add(std::to_string(r.gpufbmem));
  add(fixed(r.gpu_power_w, 1));
  add(fixed(r.gpu_energy_j, 3));
  add(fixed(r.gpu_active_s, 3));
  for (const auto* v : {&r.gpu_sm_active_pct, &r.gpu_tensor_active_pct, &r.gpu_fp64_active_pct, &r.gpu_fp32_active_pct,
                        &r.gpu_fp16_active_pct, &r.gpu_dram_active_pct})
    add(*v ? fixed(**v, 1) : "");
  return s + "\n";
}

std::string events_summary(const json& g) {
  const json& e = g.value("events", json());
  if (!e.is_object()) return "-";
  std::string out;
  bool unknown = false;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  if (e.contains("xid") && e["xid"].is_object()) {
    std::string codes;
    for (const auto& c : e["xid"].value("codes", json::array())) codes += (codes.empty() ? "" : ",") + dump_json(c);
    if (!codes.empty()) add("xid " + codes);
  } else {
    unknown = true;
  }
  for (auto [key, name] : {std::pair{"ecc_single_bit_events", "sbe"}, std::pair{"ecc_double_bit_events", "dbe"},
                           std::pair{"retired_pages", "retired pages"}, std::pair{"remapped_rows", "remapped rows"}}) {
    if (!e.contains(key) || !e[key].is_number()) {
      unknown = unknown || std::string(key).rfind("ecc_", 0) == 0;
      continue;
    }
    if (e[key].get<double>() > 0) add(std::string(name) + " " + dump_json(e[key]));
  }
  if (out.empty()) return unknown ? "-" : "none";
  return out;
}

std::string render_account_table(const json& a) {
  auto show = [](const json& v, const std::string& unit = "") -> std::string {
    if (v.is_null()) return "-";
    if (v.is_number_integer()) return std::to_string(v.get<long long>()) + unit;
    if (v.is_number()) return fixed(v.get<double>(), 2) + unit;
    if (v.is_string()) return v.get<std::string>();
    return dump_json(v);
  };
  std::vector<std::pair<std::string, std::string>> rows = {
      {"mode", show(a["mode"])},
      {"status", show(a["status"])},
      {"wall", format_duration(a.value("wall_s", 0.0))},
      {"cpu (user+system)", show(a["cpu"]["cpu_s"], " s")},
      {"max rss", a["cpu"]["max_rss_bytes"].is_number() ? format_bytes(a["cpu"]["max_rss_bytes"].get<std::uint64_t>()) : "-"},
      {"job", show(a["identity"]["job_id"])},
  };
  if (a.contains("exit")) rows.push_back({"exit status", show(a["exit"]["status"])});
  if (a.contains("total") && a["total"].contains("usage_class"))
    rows.push_back({"usage class", show(a["total"]["usage_class"]) + " (from " + show(a["total"]["usage_class_basis"]) + ")"});
  std::string out = render_key_values(rows);
  const json& gpus = a.value("gpus", json::array());
  if (!gpus.empty()) {
    Table t({"device", "model", "attribution", "count", "held s", "active s", "util %", "max mem", "energy J", "class",
             "errors"});
    for (const auto& g : gpus) {
      t.add_row({str(g, "uuid"), str(g, "model"), str(g, "attribution"), show(g["count"]), show(g["available_s"]),
                 show(g["active_s"]), show(g["utilization_mean_pct"]),
                 g["memory_max_bytes"].is_number() ? format_bytes(g["memory_max_bytes"].get<std::uint64_t>()) : "-",
                 show(g["energy_j"]), g.contains("usage_class") ? show(g["usage_class"]) : "-", events_summary(g)});
    }
    out += "\n" + t.render();
  }
  for (const auto& p : a.value("problems", json::array())) out += "note: " + p.get<std::string>() + "\n";
  return out;
}

}  // namespace gpukit
