#include "account/formats.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

#include "core/table.hpp"
#include "core/units.hpp"

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

}  // namespace

Result<std::vector<json>> apel_records(const json& account) {
  const json& id = account.value("identity", json::object());
  std::string site = str(id, "site"), job = str(id, "job_id");
  if (site.empty()) return usage_error("the site is unknown: give --site (APEL SiteName is mandatory)", "SiteName");
  if (job.empty()) return usage_error("the job id is unknown: give --job-id or run under HTCondor, Slurm or PBS", "AssociatedRecord");
  const json& gpus = account.value("gpus", json::array());
  if (gpus.empty()) return usage_error("the job held no GPU: there is no accelerator usage to report", "UsageRecords");

  struct Group {
    double count = 0, held = 0, active = 0;
    bool active_known = true;
  };
  std::map<std::string, Group> by_model;
  std::vector<std::string> order;
  for (const auto& g : gpus) {
    std::string model = str(g, "model").empty() ? "unknown" : str(g, "model");
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
    r["GlobalUserName"] = str(id, "user").empty() ? json(nullptr) : json(str(id, "user"));
    r["FQAN"] = str(id, "fqan").empty() ? "None" : str(id, "fqan");
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

std::string render_prometheus(const json& account) {
  const json& id = account.value("identity", json::object());
  bool node = str(account, "mode") == "node";
  std::string job = str(id, "job_id");
  std::string job_label = node ? "" : "job_id=\"" + escape_label(job) + "\"";
  std::string out;
  auto family = [&](const std::string& name, const char* type, const char* help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto sample = [&](const std::string& name, const std::string& labels, const json& value) {
    if (!value.is_number()) return;  // unknown: no sample rather than a fake 0
    out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + number(value.get<double>()) + "\n";
  };
  auto join = [](const std::string& a, const std::string& b) { return a.empty() ? b : b.empty() ? a : a + "," + b; };

  if (!node) {
    family("gpukit_job_wall_seconds_total", "counter", "Wall time of the job so far.");
    sample("gpukit_job_wall_seconds_total", job_label, account["wall_s"]);
    family("gpukit_job_cpu_seconds_total", "counter", "CPU time of the job's process tree.");
    sample("gpukit_job_cpu_seconds_total", join(job_label, "mode=\"user\""), account["cpu"]["utime_s"]);
    sample("gpukit_job_cpu_seconds_total", join(job_label, "mode=\"system\""), account["cpu"]["stime_s"]);
    family("gpukit_job_memory_rss_max_bytes", "gauge", "Largest resident set of the process tree.");
    sample("gpukit_job_memory_rss_max_bytes", job_label, account["cpu"]["max_rss_bytes"]);
  }
  struct Metric {
    const char* name;
    const char* type;
    const char* key;
    const char* help;
    double scale;
  };
  const Metric metrics[] = {
      {"gpukit_gpu_held_ratio", "gauge", "count", "Fraction of a physical GPU held (1, a MIG slice, or a share).", 1},
      {"gpukit_gpu_available_seconds_total", "counter", "available_s", "Wall seconds the device was held.", 1},
      {"gpukit_gpu_active_seconds_total", "counter", "active_s", "Utilisation-weighted busy seconds, in physical-GPU units.", 1},
      {"gpukit_gpu_utilization_ratio", "gauge", "utilization_mean_pct", "Mean utilisation of what was held.", 0.01},
      {"gpukit_gpu_memory_max_bytes", "gauge", "memory_max_bytes", "Largest device memory used.", 1},
      {"gpukit_gpu_energy_joules_total", "counter", "energy_j", "Energy attributed, from the device energy counter where it exists.", 1},
      {"gpukit_gpu_power_mean_watts", "gauge", "power_mean_w", "Mean power attributed.", 1},
      {"gpukit_gpu_occupancy_ratio", "gauge", "occupancy", "Fraction of the window with at least one process on the device.", 1},
  };
  const json& gpus = account.value("gpus", json::array());
  for (const auto& m : metrics) {
    bool any = false;
    for (const auto& g : gpus)
      if (g.contains(m.key) && g[m.key].is_number()) any = true;
    if (!any) continue;
    family(m.name, m.type, m.help);
    for (const auto& g : gpus) {
      if (!g.contains(m.key) || !g[m.key].is_number()) continue;
      bool mig = str(g, "kind") == "mig";
      std::string labels = join(job_label, "uuid=\"" + escape_label(mig ? str(g, "parent_uuid") : str(g, "uuid")) +
                                               "\",mig_instance=\"" + escape_label(mig ? str(g, "uuid") : "") +
                                               "\",model=\"" + escape_label(str(g, "model")) + "\"");
      sample(m.name, labels, json(g[m.key].get<double>() * m.scale));
    }
  }
  out += render_prometheus_activity(account, [&](const json& g) {
    bool mig = str(g, "kind") == "mig";
    return join(job_label, "uuid=\"" + escape_label(mig ? str(g, "parent_uuid") : str(g, "uuid")) + "\",mig_instance=\"" +
                               escape_label(mig ? str(g, "uuid") : "") + "\",model=\"" + escape_label(str(g, "model")) + "\"");
  });
  family("gpukit_account_last_update_timestamp_seconds", "gauge", "When gpuaccount last rewrote this file (Unix time).");
  out += "gpukit_account_last_update_timestamp_seconds" + std::string(job_label.empty() ? "" : "{" + job_label + "}") + " " +
         std::to_string(static_cast<long long>(std::time(nullptr))) + "\n";
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
    Table t({"device", "model", "attribution", "count", "held s", "active s", "util %", "max mem", "energy J", "class"});
    for (const auto& g : gpus) {
      t.add_row({str(g, "uuid"), str(g, "model"), str(g, "attribution"), show(g["count"]), show(g["available_s"]),
                 show(g["active_s"]), show(g["utilization_mean_pct"]),
                 g["memory_max_bytes"].is_number() ? format_bytes(g["memory_max_bytes"].get<std::uint64_t>()) : "-",
                 show(g["energy_j"]), g.contains("usage_class") ? show(g["usage_class"]) : "-"});
    }
    out += "\n" + t.render();
  }
  for (const auto& p : a.value("problems", json::array())) out += "note: " + p.get<std::string>() + "\n";
  return out;
}

}  // namespace gpukit
