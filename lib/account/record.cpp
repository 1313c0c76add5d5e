#include "account/record.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/utf8.hpp"

namespace gpukit {

namespace {

// Divides by a power of ten so that the JSON shows the short decimal.
double round_to(double v, double step) {
  double per = std::round(1.0 / step);
  return std::round(v * per) / per;
}

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// The class of one device, from its GPM means or, without them, its utilisation.
void add_usage_class(json& d, const GpuUsage& g, const UsageClassRules* rules) {
  if (!rules) return;
  std::optional<double> util;
  if (d["utilization_mean_pct"].is_number()) util = d["utilization_mean_pct"].get<double>();
  UsageClass c = rules->classify(g.activity_mean(), util);
  d["usage_class"] = c.name;
  d["usage_class_basis"] = c.basis;
}

// The job's activity: the devices' GPM means weighted by the GPU-seconds held.
class JobActivity {
 public:
  void add(const GpuUsage& g) {
    double w = g.available_s() * g.count();
    auto mean = g.activity_mean();
    if (!mean || w <= 0) return;
    const auto& fields = activity_fields();
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (const auto& v = (*mean).*(fields[i].member)) {
        sum_[i] += *v * w;
        weight_[i] += w;
      }
    any_ = true;
  }
  void set(json& total, const UsageClassRules* rules) const {
    std::optional<ActivityMeans> m;
    if (any_) {
      m.emplace();
      const auto& fields = activity_fields();
      for (std::size_t i = 0; i < fields.size(); ++i)
        if (weight_[i] > 0) (*m).*(fields[i].member) = sum_[i] / weight_[i];
    }
    total["activity"] = m ? activity_to_json(*m) : json(nullptr);
    if (!rules) return;
    std::optional<double> util;
    if (total["utilization_mean_pct"].is_number()) util = total["utilization_mean_pct"].get<double>();
    UsageClass c = rules->classify(m, util);
    total["usage_class"] = c.name;
    total["usage_class_basis"] = c.basis;
  }

 private:
  std::vector<double> sum_ = std::vector<double>(activity_fields().size()), weight_ = sum_;
  bool any_ = false;
};

// The job's error events and memory retirement: sums over the devices that know
// them (null when none does); `complete` says whether every device knew every one.
class JobEvents {
 public:
  void add(const json& d) {
    const json& e = d.value("events", json::object());
    if (!e.is_object()) return;
    ++devices_;
    if (e["xid"].is_object()) {
      const json& x = e["xid"];
      xid_count_ = xid_count_.value_or(0) + x.value("count", 0);
      if (x.value("count", 0) > 0) ++gpus_with_xid_;
      for (const auto& c : x.value("codes", json::array()))
        if (c.is_number_integer() && c.get<long long>() >= 0) codes_.insert(c.get<std::uint64_t>());
    } else {
      complete_ = false;
    }
    sum(e, "ecc_single_bit_events", sbe_);
    sum(e, "ecc_double_bit_events", dbe_);
    sum(d, "ecc_corrected_errors", ecc_corrected_);
    sum(d, "ecc_uncorrected_errors", ecc_uncorrected_);
    sum(e, "retired_pages", retired_);
    sum(e, "remapped_rows", remapped_);
  }
  json to_json() const {
    auto opt_n = [](const std::optional<std::uint64_t>& v) { return v ? json(*v) : json(nullptr); };
    return {{"xid_count", opt_n(xid_count_)},
            {"xid_codes", xid_count_ ? json(std::vector<std::uint64_t>(codes_.begin(), codes_.end())) : json(nullptr)},
            {"devices_with_xid", gpus_with_xid_},
            {"ecc_single_bit_events", opt_n(sbe_)},
            {"ecc_double_bit_events", opt_n(dbe_)},
            {"ecc_corrected_errors", opt_n(ecc_corrected_)},
            {"ecc_uncorrected_errors", opt_n(ecc_uncorrected_)},
            {"retired_pages", opt_n(retired_)},
            {"remapped_rows", opt_n(remapped_)},
            {"complete", complete_ && devices_ > 0}};
  }

 private:
  void sum(const json& from, const char* key, std::optional<std::uint64_t>& into) {
    if (from.contains(key) && from[key].is_number_integer() && from[key].get<long long>() >= 0)
      into = into.value_or(0) + from[key].get<std::uint64_t>();
    else complete_ = false;
  }
  int devices_ = 0, gpus_with_xid_ = 0;
  bool complete_ = true;
  std::optional<std::uint64_t> xid_count_, sbe_, dbe_, ecc_corrected_, ecc_uncorrected_, retired_, remapped_;
  std::set<std::uint64_t> codes_;
};

}  // namespace

void CpuUsage::add(const TreeReading& t) {
  ++readings_;
  last_ = t;
  utime_s_ = std::max(utime_s_, t.utime_s);
  stime_s_ = std::max(stime_s_, t.stime_s);
  max_vmem_kb_ = std::max(max_vmem_kb_, t.vmem_kb);
  max_rss_kb_ = std::max(max_rss_kb_, t.rss_kb);
  max_pss_kb_ = std::max(max_pss_kb_, t.pss_kb);
  max_swap_kb_ = std::max(max_swap_kb_, t.swap_kb);
  rchar_ = std::max(rchar_, t.rchar);
  wchar_ = std::max(wchar_, t.wchar);
  read_bytes_ = std::max(read_bytes_, t.read_bytes);
  write_bytes_ = std::max(write_bytes_, t.write_bytes);
  max_processes_ = std::max(max_processes_, t.processes);
  max_threads_ = std::max(max_threads_, t.threads);
  if (t.processes > 0) {
    pss_complete_ = pss_complete_ && t.pss_complete;
    io_complete_ = io_complete_ && t.io_complete;
  }
}

void CpuUsage::add_rusage(double user_s, double system_s, std::uint64_t max_rss_kb) {
  utime_s_ = std::max(utime_s_, user_s);
  stime_s_ = std::max(stime_s_, system_s);
  max_single_rss_kb_ = std::max(max_single_rss_kb_, max_rss_kb);
}

json CpuUsage::to_json() const {
  auto kb = [](std::uint64_t v) { return v * 1024; };
  return {{"utime_s", round_to(utime_s_, 0.01)},
          {"stime_s", round_to(stime_s_, 0.01)},
          {"cpu_s", round_to(utime_s_ + stime_s_, 0.01)},
          {"max_vmem_bytes", kb(max_vmem_kb_)},
          {"max_rss_bytes", kb(std::max(max_rss_kb_, max_single_rss_kb_))},
          {"max_pss_bytes", pss_complete_ ? json(kb(max_pss_kb_)) : json(nullptr)},
          {"max_swap_bytes", kb(max_swap_kb_)},
          {"max_processes", max_processes_},
          {"max_threads", max_threads_},
          {"rchar_bytes", io_complete_ ? json(rchar_) : json(nullptr)},
          {"wchar_bytes", io_complete_ ? json(wchar_) : json(nullptr)},
          {"read_bytes", io_complete_ ? json(read_bytes_) : json(nullptr)},
          {"write_bytes", io_complete_ ? json(write_bytes_) : json(nullptr)},
          {"readings", readings_}};
}

void CgroupUsage::add(const CgroupReading& reading, bool exclusive) {
  if (!first_) first_ = reading;
  last_ = reading;
  exclusive_ = exclusive_ && exclusive;
  if (reading.memory_current_bytes)
    memory_max_bytes_ = std::max(memory_max_bytes_.value_or(0), *reading.memory_current_bytes);
  if (reading.memory_peak_bytes) memory_max_bytes_ = std::max(memory_max_bytes_.value_or(0), *reading.memory_peak_bytes);
}

json CgroupUsage::to_json() const {
  if (!last_) return nullptr;
  auto delta = [&](const std::optional<double>& a, const std::optional<double>& b) -> json {
    if (!a || !b) return nullptr;
    return round_to(*b - *a, 0.001);
  };
  return {{"path", last_->path},
          {"exclusive", exclusive_},
          {"cpu_usage_s", delta(first_->cpu_usage_s, last_->cpu_usage_s)},
          {"cpu_user_s", delta(first_->cpu_user_s, last_->cpu_user_s)},
          {"cpu_system_s", delta(first_->cpu_system_s, last_->cpu_system_s)},
          {"memory_max_bytes", opt(memory_max_bytes_)},
          {"memory_peak_bytes", opt(last_->memory_peak_bytes)},
          {"swap_current_bytes", opt(last_->swap_current_bytes)},
          {"pids_current", opt(last_->pids_current)}};
}

std::optional<double> BenchmarkScores::gpu_score_for(const std::string& uuid, const std::string& parent_uuid,
                                                     const std::string& model) const {
  for (const std::string* id : {&uuid, &parent_uuid})
    if (auto it = gpu_by_uuid.find(*id); !id->empty() && it != gpu_by_uuid.end()) return it->second;
  if (auto it = gpu_by_model.find(model); it != gpu_by_model.end()) return it->second;
  return std::nullopt;
}

Result<BenchmarkScores> parse_benchmark_scores(const json& value, const std::string& origin) {
  BenchmarkScores s;
  s.source = origin;
  if (!value.is_object()) return usage_error("benchmark scores must be a JSON object", origin);
  if (!value.contains("benchmark_type") || !value["benchmark_type"].is_string())
    return usage_error("must be a string (the benchmark's name)", origin + ": benchmark_type");
  s.benchmark_type = value["benchmark_type"].get<std::string>();
  auto positive = [&](const json& j, const std::string& path) -> Result<double> {
    if (!j.is_number() || j.get<double>() <= 0) return usage_error("must be a positive number", origin + ": " + path);
    return j.get<double>();
  };
  for (auto [key, into] : {std::pair{"gpu_per_device", &s.gpu_by_uuid}, std::pair{"models", &s.gpu_by_model}}) {
    if (!value.contains(key) || value[key].is_null()) continue;
    if (!value[key].is_object()) return usage_error("must be an object of name: score", origin + ": " + key);
    for (const auto& [name, score] : value[key].items()) {
      auto v = positive(score, std::string(key) + "." + name);
      if (!v) return v.error();
      (*into)[name] = *v;
    }
  }
  if (value.contains("cpu_per_core") && !value["cpu_per_core"].is_null()) {
    auto v = positive(value["cpu_per_core"], "cpu_per_core");
    if (!v) return v.error();
    s.cpu_score_per_core = *v;
  }
  if (!s.has_gpu() && !s.cpu_score_per_core)
    return usage_error("has no score (gpu_per_device, models and cpu_per_core are all empty or null)", origin);
  return s;
}

json account_section(const AccountMeta& m, const JobIdentity& identity, const CpuUsage& cpu,
                     const std::optional<CgroupUsage>& cgroup, const std::vector<GpuUsage>& gpus,
                     const std::optional<BenchmarkScores>& scores) {
  json a;
  a["generator"] = generator_stamp("gpuaccount");
  a["mode"] = m.mode;
  a["status"] = m.status;
  if (m.mode == "wrap") {
    a["command"] = json::array();
    for (const auto& arg : m.command) a["command"].push_back(valid_utf8(arg));
  }
  if (m.pid) a["pid"] = *m.pid;
  a["start_time"] = m.start_time;
  a["end_time"] = m.end_time.empty() ? json(nullptr) : json(m.end_time);
  a["interval_s"] = m.interval_s;
  a["samples"] = m.samples;
  a["wall_s"] = round_to(m.wall_s, 0.001);
  a["short_job"] = m.wall_s < m.interval_s;
  if (m.mode == "wrap") {
    a["exit"] = {{"status", opt(m.exit_status)}, {"exit_code", opt(m.exit_code)}, {"signal", opt(m.exit_signal)}};
    a["signals_forwarded"] = m.signals_forwarded;
    a["descendants_left"] = m.descendants_left;
  }
  a["identity"] = identity_to_json(identity);

  json c = cpu.to_json();
  c["cores"] = opt(identity.cores);
  c["efficiency"] = identity.cores && m.wall_s > 0
                        ? json(round_to((cpu.utime_s() + cpu.stime_s()) / (m.wall_s * *identity.cores), 0.0001))
                        : json(nullptr);
  a["cpu"] = c;
  a["cgroup"] = cgroup ? cgroup->to_json() : json(nullptr);
  a["telemetry"] = m.telemetry.empty() ? json(nullptr) : json(m.telemetry);

  json devices = json::array();
  double count = 0, held_s = 0, active = 0, energy = 0, occupied = 0;
  bool any_active = false, any_energy = false, energy_complete = true, active_complete = true;
  std::optional<double> util_max;
  std::optional<std::uint64_t> memory;
  JobActivity job_activity;
  JobEvents job_events;
  for (const auto& g : gpus) {
    json d = g.to_json();
    add_usage_class(d, g, m.usage_classes);
    if (!(m.mode == "node" && g.device().mig)) job_activity.add(g);
    // On a node, a MIG instance is part of its GPU, which is counted already.
    if (!(m.mode == "node" && g.device().mig)) job_events.add(d);
    if (m.mode == "node" && g.device().mig) {
      devices.push_back(std::move(d));
      continue;
    }
    count += g.count();
    held_s += g.available_s() * g.count();
    if (auto v = g.active_s()) {
      active += *v;
      any_active = true;
    } else {
      active_complete = false;
    }
    if (auto e = g.energy_j()) {
      energy += *e;
      any_energy = true;
    } else {
      energy_complete = false;
    }
    if (d["utilization_max_pct"].is_number()) util_max = std::max(util_max.value_or(0.0), d["utilization_max_pct"].get<double>());
    if (auto mem = g.memory_max_bytes()) memory = memory.value_or(0) + *mem;
    if (d.contains("occupancy") && d["occupancy"].is_number()) occupied += d["occupancy"].get<double>() * g.available_s();
    devices.push_back(std::move(d));
  }
  a["gpus"] = devices;
  json total = {{"gpu_count", round_to(count, 0.001)},
                {"available_s", round_to(held_s, 0.001)},
                {"active_s", any_active ? json(round_to(active, 0.001)) : json(nullptr)},
                {"active_complete", active_complete},
                {"utilization_mean_pct", any_active && held_s > 0 ? json(round_to(active / held_s * 100, 0.01)) : json(nullptr)},
                {"utilization_max_pct", opt(util_max)},
                {"memory_max_bytes", opt(memory)},
                {"energy_j", any_energy ? json(round_to(energy, 0.001)) : json(nullptr)},
                {"energy_complete", energy_complete},
                {"power_mean_w", any_energy && m.wall_s > 0 ? json(round_to(energy / m.wall_s, 0.001)) : json(nullptr)}};
  if (m.mode == "node") {
    double window = 0;
    for (const auto& g : gpus)
      if (!g.device().mig) window += g.available_s();
    total["occupancy"] = window > 0 ? json(round_to(occupied / window, 0.0001)) : json(nullptr);
  }
  job_activity.set(total, m.usage_classes);
  total["events"] = job_events.to_json();
  a["total"] = total;

  if (scores) {
    json n;
    n["source"] = scores->source;
    if (scores->has_gpu()) {
      json per = json::array();
      double sum = 0;
      bool complete = true;
      for (const auto& g : gpus) {
        auto score = scores->gpu_score_for(g.device().uuid, g.device().parent_uuid, g.device().model);
        json row = {{"uuid", g.device().uuid}, {"model", g.device().model}, {"score", opt(score)}};
        if (score) {
          double h = g.available_s() / 3600.0 * g.count() * *score;
          row["score_hours"] = round_to(h, 0.0001);
          sum += h;
        } else {
          row["score_hours"] = nullptr;
          complete = false;
        }
        per.push_back(row);
      }
      n["gpu"] = {{"benchmark_type", scores->benchmark_type}, {"devices", per}, {"score_hours", round_to(sum, 0.0001)}, {"complete", complete}};
    } else {
      n["gpu"] = nullptr;
    }
    if (scores->cpu_score_per_core && identity.cores) {
      double h = m.wall_s / 3600.0 * *identity.cores * *scores->cpu_score_per_core;
      n["cpu"] = {{"benchmark_type", scores->benchmark_type},
                  {"score_per_core", *scores->cpu_score_per_core},
                  {"cores", *identity.cores},
                  {"score_hours", round_to(h, 0.0001)}};
    } else {
      n["cpu"] = nullptr;
    }
    a["normalised"] = n;
  } else {
    a["normalised"] = nullptr;
  }
  a["problems"] = m.problems;
  a["degraded"] = m.degraded;
  return a;
}

}  // namespace gpukit
