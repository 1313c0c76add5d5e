#include "account/gpu_usage.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <regex>

namespace gpukit {

const char* to_string(Attribution a) {
  switch (a) {
    case Attribution::exclusive: return "exclusive";
    case Attribution::process: return "process";
    case Attribution::device_share: return "device-share";
    case Attribution::node: return "node";
  }
  return "exclusive";
}

void set_mig_slice(HeldDevice& d, std::optional<double> instance_memory, std::optional<double> gpu_memory) {
  d.mig = true;
  static const std::regex compute_slices(R"(^(?:\d+c\.)?(\d)g\.)");
  std::smatch m;
  if (std::regex_search(d.profile, m, compute_slices)) {
    d.slice = (m[1].str()[0] - '0') / 7.0;  // one digit, by the pattern
    d.slice_basis = "mig_profile";
  } else if (instance_memory && gpu_memory && *gpu_memory > 0) {
    d.slice = *instance_memory / *gpu_memory;
    d.slice_basis = "mig_memory";
  } else {
    d.slice = 1;
    d.slice_basis = "unknown";
  }
}

DevicePoll poll_device(TelemetrySource& source, const std::string& uuid, std::uint64_t& cursor, double now_s,
                       bool processes_only) {
  DevicePoll poll;
  poll.time_s = now_s;
  auto procs = source.processes(uuid, cursor);
  if (procs) poll.processes = std::move(*procs);
  else poll.process_error = procs.error().what();
  if (!processes_only) add_sample(source, uuid, poll);
  return poll;
}

void add_sample(TelemetrySource& source, const std::string& uuid, DevicePoll& poll) {
  auto s = source.sample(uuid);
  if (s) poll.sample = std::move(*s);
  else poll.sample_error = s.error().what();
  auto e = source.events(uuid);
  if (e) poll.events = std::move(*e);
  else poll.events_error = e.error().what();
}

GpuUsage::GpuUsage(HeldDevice device, bool node_mode) : device_(std::move(device)), node_mode_(node_mode) {}

namespace {

// Order from the strongest claim to the weakest.
int weakness(Attribution a) {
  switch (a) {
    case Attribution::node: return 0;
    case Attribution::exclusive: return 1;
    case Attribution::process: return 2;
    case Attribution::device_share: return 3;
  }
  return 0;
}

std::optional<std::uint64_t> max_opt(std::optional<std::uint64_t> a, std::optional<std::uint64_t> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// Divides by a power of ten so that the JSON shows the short decimal.
double round_to(double v, double step) {
  double per = std::round(1.0 / step);
  return std::round(v * per) / per;
}

}  // namespace

void GpuUsage::add_events(const DevicePoll& poll) {
  if (!poll.events_error.empty() && events_failed_.empty()) events_failed_ = poll.events_error;
  if (!poll.events) return;
  events_read_ = true;
  for (const auto& [kind, reason] : poll.events->unavailable) events_unavailable_.emplace(kind, reason);
  for (const auto& e : poll.events->events) {
    switch (e.kind) {
      case DeviceEvent::Kind::ecc_single_bit: ++ecc_single_bit_events_; break;
      case DeviceEvent::Kind::ecc_double_bit: ++ecc_double_bit_events_; break;
      case DeviceEvent::Kind::xid:
        if (xid_.count++ == 0) {
          xid_.first_s = e.time_s;
          xid_.first_unix_s = e.unix_time_s;
        }
        xid_.last_s = e.time_s;
        xid_.last_unix_s = e.unix_time_s;
        ++xid_.by_code[e.xid];
        break;
    }
  }
}

void GpuUsage::add(const DevicePoll& poll, const std::set<int>& job) {
  ++polls_;
  if (!first_time_) first_time_ = poll.time_s;
  add_events(poll);
  double dt = last_time_ ? std::max(0.0, poll.time_s - *last_time_) : 0.0;
  last_time_ = poll.time_s;
  available_s_ += dt;

  if (!poll.sample) {
    latest_ = Latest{};
    last_sample_.reset();
    // A GPU off the bus or a driver reset: the job still holds the device, but
    // nothing is known of the interval. The energy counter, read again when the
    // device returns, still covers the gap unless it was reset.
    gap_s_ += dt;
    if (!gaps_.empty() && gaps_.back().end_s >= poll.time_s - dt - 1e-9 && gaps_.back().error == poll.sample_error)
      gaps_.back().end_s = poll.time_s;
    else
      gaps_.push_back({poll.time_s - dt, poll.time_s, poll.sample_error});
    share_s_ += dt;  // held as before
    return;
  }
  const DeviceSample& s = *poll.sample;
  for (const auto& [field, reason] : s.unavailable) unavailable_[field] = reason;
  last_sample_ = s;

  // Who is on the device. The driver may return several utilisation samples
  // per process since the cursor (one per sample period): a process's figure
  // for the interval is the mean of its samples.
  struct Seen {
    double sm_sum = 0, mem_util_sum = 0;
    int sm_n = 0, mem_util_n = 0;
    std::optional<std::uint64_t> memory;
  };
  std::map<int, Seen> seen;
  if (poll.processes) {
    for (const auto& p : *poll.processes) {
      Seen& e = seen[p.pid];
      if (p.used_memory_bytes) e.memory = std::max(e.memory.value_or(0), *p.used_memory_bytes);
      if (p.sm_utilization_pct) {
        e.sm_sum += *p.sm_utilization_pct;
        ++e.sm_n;
      }
      if (p.memory_utilization_pct) {
        e.mem_util_sum += *p.memory_utilization_pct;
        ++e.mem_util_n;
      }
    }
  }
  std::optional<std::uint64_t> job_memory, all_memory;
  double job_util = 0, all_util = 0, job_mem_util = 0;
  bool per_process_util = false;
  int job_procs = 0, other_procs = 0;
  for (const auto& [pid, e] : seen) {
    bool mine = job.count(pid) > 0;
    (mine ? job_pids_seen_ : other_pids_seen_).insert(pid);
    (mine ? job_procs : other_procs) += 1;
    if (e.memory) {
      all_memory = all_memory.value_or(0) + *e.memory;
      if (mine) job_memory = job_memory.value_or(0) + *e.memory;
    }
    if (e.sm_n > 0) {
      per_process_util = true;
      all_util += e.sm_sum / e.sm_n;
      if (mine) job_util += e.sm_sum / e.sm_n;
    }
    if (mine && e.mem_util_n > 0) job_mem_util += e.mem_util_sum / e.mem_util_n;
  }

  // NVML returns samples only for processes busy since the cursor: once a
  // device has given per-process figures, a poll without any means idle.
  if (per_process_util) per_process_supported_ = true;
  Attribution method;
  if (node_mode_) method = Attribution::node;
  else if (other_procs == 0) method = Attribution::exclusive;
  else if (per_process_supported_) method = Attribution::process;
  else method = Attribution::device_share;

  // The job's share of the device for this interval.
  double share = 1;
  if (method == Attribution::process || method == Attribution::device_share) {
    if (job_memory && all_memory && *all_memory > 0)
      share = static_cast<double>(*job_memory) / static_cast<double>(*all_memory);
    else if (method == Attribution::process && all_util > 0)
      share = job_util / all_util;
    else
      share = static_cast<double>(job_procs) / static_cast<double>(job_procs + other_procs);
  }

  // Busy fraction of the held unit (the GPU, or the MIG instance) given to the job.
  std::optional<double> util;  // percent of the whole device
  if (method == Attribution::process) {
    util = std::min(100.0, job_util);
  } else if (method == Attribution::exclusive && per_process_util) {
    // The per-process samples average since the cursor; the device figure is
    // only the driver's latest period.
    util = std::min(100.0, all_util);
  } else if (s.gpu_utilization_pct) {
    util = *s.gpu_utilization_pct * (method == Attribution::device_share ? share : 1.0);
  } else if (per_process_util) {
    util = std::min(100.0, method == Attribution::device_share ? job_util : all_util);
  }

  if (dt > 0) {
    method_s_[method] += dt;
    // A device the job was given (a visible device) is held whole, whoever else
    // ran on it; only a device found through its processes is held in part.
    share_s_ += (device_.assigned ? 1.0 : share) * dt;
    if (node_mode_ && poll.processes && !poll.processes->empty()) occupied_s_ += dt;
    if (util) {
      // A MIG instance's utilisation is of the instance; scale to GPU units.
      active_s_ += *util / 100.0 * dt * device_.slice;
      active_known_s_ += dt;
    }
  }
  if (util) {
    double held = method == Attribution::exclusive || method == Attribution::node ? 1.0 : share;
    if (held > 0) util_max_pct_ = std::max(util_max_pct_, std::min(100.0, *util / held));
    util_seen_ = true;
  }

  // Energy: deltas of the cumulative counter where it exists.
  std::optional<double> delta;
  if (s.energy_j) {
    if (last_energy_j_) {
      if (*s.energy_j >= *last_energy_j_) {
        delta = *s.energy_j - *last_energy_j_;
      } else {
        // Wrap or driver reload: the counter restarted; what it counted since
        // is the best lower bound for the interval.
        ++counter_resets_;
        delta = *s.energy_j;
      }
      energy_from_counter_ = true;
    }
    last_energy_j_ = s.energy_j;
  } else if (s.power_w && dt > 0) {
    delta = (last_power_w_.value_or(*s.power_w) + *s.power_w) / 2.0 * dt;
    energy_from_power_ = true;
  }
  if (delta && dt > 0) {
    energy_j_ += *delta * share;
    energy_known_s_ += dt;
    if (share < 1) energy_estimated_ = true;
  }
  if (s.power_w) {
    last_power_w_ = s.power_w;
    power_max_w_ = std::max(power_max_w_.value_or(0.0), *s.power_w);
  }

  // Memory the job held.
  std::optional<std::uint64_t> memory;
  if (method == Attribution::exclusive || method == Attribution::node) memory = s.memory_used_bytes ? s.memory_used_bytes : job_memory;
  else memory = job_memory;
  memory_max_ = max_opt(memory_max_, memory);

  latest_.sm_pct = util.value_or(0) * device_.slice;
  latest_.memory_bytes = memory.value_or(0);
  latest_.power_w = s.power_w.value_or(0) * share;
  if (method == Attribution::process) {
    latest_.memory_util_pct = job_mem_util;
  } else {
    latest_.memory_util_pct = s.memory_utilization_pct.value_or(0) * share * device_.slice;
  }

  latest_.activity = s.activity;
  if (s.activity && dt > 0) {
    ++activity_samples_;
    const auto& fields = activity_fields();
    for (std::size_t i = 0; i < fields.size(); ++i)
      if (const auto& v = (*s.activity).*(fields[i].member)) {
        activity_[i].sum += *v * dt;
        activity_[i].weight += dt;
        activity_[i].max = std::max(activity_[i].max.value_or(*v), *v);
      }
  }

  if (s.temperature_c) temperature_max_c_ = std::max(temperature_max_c_.value_or(-273), *s.temperature_c);
  if (s.sm_clock_mhz) sm_clock_max_mhz_ = std::max(sm_clock_max_mhz_.value_or(0), *s.sm_clock_mhz);
  for (const auto& r : s.throttle_reason_names) throttle_reasons_.insert(r);
  if (s.ecc_corrected) {
    if (!ecc_corrected_first_) ecc_corrected_first_ = s.ecc_corrected;
    ecc_corrected_last_ = s.ecc_corrected;
  }
  if (s.ecc_uncorrected) {
    if (!ecc_uncorrected_first_) ecc_uncorrected_first_ = s.ecc_uncorrected;
    ecc_uncorrected_last_ = s.ecc_uncorrected;
  }
  if (s.retired_pages) {
    if (!retired_pages_first_) retired_pages_first_ = s.retired_pages;
    retired_pages_last_ = s.retired_pages;
  }
  if (s.remapped_rows) {
    if (!remapped_rows_first_) remapped_rows_first_ = s.remapped_rows;
    remapped_rows_last_ = s.remapped_rows;
  }
}

namespace {

std::string iso_utc(double unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Counters that only grow while the driver stays loaded: the growth, or null.
json growth(std::optional<std::uint64_t> first, std::optional<std::uint64_t> last) {
  if (!first || !last) return nullptr;
  return *last >= *first ? *last - *first : *last;  // counters reset with the driver
}

}  // namespace

json GpuUsage::events_json() const {
  json unavailable = json::object();
  // A kind is known when the events were read and the device reports it, and no read failed since.
  auto known = [&](const char* kind) -> bool {
    if (!events_failed_.empty()) {
      unavailable[kind] = "the event read failed, later events are unknown: " + events_failed_;
      return false;
    }
    if (auto it = events_unavailable_.find(kind); it != events_unavailable_.end()) {
      unavailable[kind] = it->second;
      return false;
    }
    if (!events_read_) {
      unavailable[kind] = "the device's events were never read";
      return false;
    }
    return true;
  };
  json xid = nullptr;
  if (known("xid")) {
    double t0 = first_time_.value_or(0);
    json codes = json::array(), by_code = json::object();
    for (const auto& [code, n] : xid_.by_code) {
      codes.push_back(code);
      by_code[std::to_string(code)] = n;
    }
    bool any = xid_.count > 0;
    xid = {{"count", xid_.count},
           {"codes", codes},
           {"by_code", by_code},
           {"first_s", any ? json(round_to(std::max(0.0, xid_.first_s - t0), 0.001)) : json(nullptr)},
           {"last_s", any ? json(round_to(std::max(0.0, xid_.last_s - t0), 0.001)) : json(nullptr)},
           {"first_time", any ? json(iso_utc(xid_.first_unix_s)) : json(nullptr)},
           {"last_time", any ? json(iso_utc(xid_.last_unix_s)) : json(nullptr)}};
  }
  json sbe = known("ecc_single_bit") ? json(ecc_single_bit_events_) : json(nullptr);
  json dbe = known("ecc_double_bit") ? json(ecc_double_bit_events_) : json(nullptr);
  if (auto it = events_unavailable_.find("gpu_instance_id"); it != events_unavailable_.end())
    unavailable["gpu_instance_id"] = it->second;
  json retired = growth(retired_pages_first_, retired_pages_last_);
  json remapped = growth(remapped_rows_first_, remapped_rows_last_);
  for (const char* field : {"retired_pages", "remapped_rows"}) {
    bool missing = std::string(field) == "retired_pages" ? retired.is_null() : remapped.is_null();
    if (!missing) continue;
    auto it = unavailable_.find(field);
    unavailable[field] = it != unavailable_.end() ? it->second : "the telemetry gave no count for this device";
  }
  bool any_source = !xid.is_null() || !sbe.is_null() || !dbe.is_null();
  return {{"source", any_source ? json("nvml-events") : json(nullptr)},
          {"xid", xid},
          {"ecc_single_bit_events", sbe},
          {"ecc_double_bit_events", dbe},
          {"retired_pages", retired},
          {"remapped_rows", remapped},
          {"unavailable", unavailable}};
}

json GpuUsage::last_sample_json() const {
  if (!last_sample_) return nullptr;
  const DeviceSample& s = *last_sample_;
  json j;
  j["temperature_c"] = opt(s.temperature_c);
  j["sm_clock_mhz"] = opt(s.sm_clock_mhz);
  j["memory_clock_mhz"] = opt(s.memory_clock_mhz);
  j["power_w"] = opt(s.power_w);
  j["memory_used_bytes"] = opt(s.memory_used_bytes);
  // The reasons active now; null when the mask was not read (an empty list
  // says that none is).
  j["throttle_reasons"] = s.throttle_reasons ? json(s.throttle_reason_names) : json(nullptr);
  // The driver's volatile counters (since it loaded), not the job's deltas.
  j["ecc_corrected_volatile"] = opt(s.ecc_corrected);
  j["ecc_uncorrected_volatile"] = opt(s.ecc_uncorrected);
  return j;
}

std::optional<ActivityMeans> GpuUsage::activity_mean() const {
  if (activity_samples_ == 0) return std::nullopt;
  ActivityMeans m;
  const auto& fields = activity_fields();
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (activity_[i].weight > 0) m.*(fields[i].member) = activity_[i].sum / activity_[i].weight;
  return m;
}

json GpuUsage::activity_json() const {
  auto mean = activity_mean();
  std::string reason;
  if (auto it = unavailable_.find("activity"); it != unavailable_.end()) reason = it->second;
  else if (!mean) reason = "no activity sample: GPM needs two samples of an NVIDIA GPU that has it";
  json max = nullptr;
  if (mean) {
    ActivityMeans m;
    const auto& fields = activity_fields();
    for (std::size_t i = 0; i < fields.size(); ++i) m.*(fields[i].member) = activity_[i].max;
    max = activity_to_json(m);
  }
  return {{"source", mean ? json("nvml-gpm") : json(nullptr)},
          {"reason", reason.empty() ? json(nullptr) : json(reason)},
          {"samples", activity_samples_},
          {"mean", mean ? activity_to_json(*mean) : json(nullptr)},
          {"max", max}};
}

double GpuUsage::count() const {
  double mean_share = available_s_ > 0 ? share_s_ / available_s_ : 1.0;
  return device_.slice * std::min(1.0, mean_share);
}

std::optional<double> GpuUsage::active_s() const {
  if (active_known_s_ <= 0 && available_s_ > 0) return std::nullopt;
  return active_s_;
}

std::optional<double> GpuUsage::energy_j() const {
  if (energy_known_s_ <= 0 && available_s_ > 0) return std::nullopt;
  if (!energy_from_counter_ && !energy_from_power_) return std::nullopt;
  return energy_j_;
}

Attribution GpuUsage::attribution() const {
  // The method that covered most of the time; attribution_s has the detail.
  Attribution main = node_mode_ ? Attribution::node : Attribution::exclusive;
  double longest = 0;
  for (const auto& [m, s] : method_s_) {
    if (s > longest + 1e-9 || (std::abs(s - longest) <= 1e-9 && s > 0 && weakness(m) > weakness(main))) {
      main = m;
      longest = s;
    }
  }
  return main;
}

json GpuUsage::to_json() const {
  json j;
  j["uuid"] = device_.uuid;
  j["status"] = timed_out_ ? "timeout" : "ok";
  j["kind"] = device_.mig ? "mig" : "gpu";
  j["parent_uuid"] = device_.parent_uuid.empty() ? json(nullptr) : json(device_.parent_uuid);
  j["model"] = device_.model;
  j["mig_profile"] = device_.profile.empty() ? json(nullptr) : json(device_.profile);
  j["held_because"] = device_.assigned ? "visible" : "process_seen";
  j["selected_by"] = device_.selected_by.empty() ? json(nullptr) : json(device_.selected_by);
  if (device_.healthy) j["healthy"] = *device_.healthy ? 1 : 0;
  j["attribution"] = to_string(attribution());
  json methods = json::object();
  for (const auto& [m, s] : method_s_) methods[to_string(m)] = round_to(s, 0.001);
  j["attribution_s"] = methods;
  j["count"] = round_to(count(), 0.001);
  j["count_basis"] = device_.mig ? device_.slice_basis : (device_.assigned || node_mode_ ? "gpu" : "share");
  j["available_s"] = round_to(available_s_, 0.001);
  j["held_s"] = round_to(held_s(), 0.001);
  auto active = active_s();
  j["active_s"] = active ? json(round_to(*active, 0.001)) : json(nullptr);
  j["active_known_s"] = round_to(active_known_s_, 0.001);
  double held = available_s_ * count();
  j["utilization_mean_pct"] = active && held > 0 ? json(round_to(*active / held * 100.0, 0.01)) : json(nullptr);
  j["utilization_max_pct"] = util_seen_ ? json(round_to(util_max_pct_, 0.01)) : json(nullptr);
  j["memory_max_bytes"] = opt(memory_max_);
  auto energy = energy_j();
  j["energy_j"] = energy ? json(round_to(*energy, 0.001)) : json(nullptr);
  j["energy_source"] = energy_from_counter_ ? json("counter") : energy_from_power_ ? json("power") : json(nullptr);
  j["energy_estimated"] = energy_estimated_ || (energy_from_power_ && !energy_from_counter_);
  j["energy_counter_resets"] = counter_resets_;
  j["power_mean_w"] = energy && available_s_ > 0 ? json(round_to(*energy / available_s_, 0.001)) : json(nullptr);
  j["power_max_w"] = opt(power_max_w_);
  j["temperature_max_c"] = opt(temperature_max_c_);
  j["sm_clock_max_mhz"] = opt(sm_clock_max_mhz_);
  j["throttle_reasons"] = std::vector<std::string>(throttle_reasons_.begin(), throttle_reasons_.end());
  j["ecc_corrected_errors"] = growth(ecc_corrected_first_, ecc_corrected_last_);
  j["ecc_uncorrected_errors"] = growth(ecc_uncorrected_first_, ecc_uncorrected_last_);
  j["last_sample"] = last_sample_json();
  if (node_mode_) j["occupancy"] = available_s_ > 0 ? json(round_to(occupied_s_ / available_s_, 0.0001)) : json(nullptr);
  j["activity"] = activity_json();
  j["events"] = events_json();
  j["gap_s"] = round_to(gap_s_, 0.001);
  json gaps = json::array();
  for (const auto& g : gaps_) {
    double t0 = first_time_.value_or(0);
    gaps.push_back({{"start_s", round_to(g.start_s - t0, 0.001)}, {"end_s", round_to(g.end_s - t0, 0.001)}, {"error", g.error}});
  }
  j["gaps"] = gaps;
  json unavailable = json::object();
  for (const auto& [field, reason] : unavailable_) unavailable[field] = reason;
  j["unavailable"] = unavailable;
  j["job_pids_seen"] = std::vector<int>(job_pids_seen_.begin(), job_pids_seen_.end());
  j["other_processes_seen"] = static_cast<int>(other_pids_seen_.size());
  j["polls"] = polls_;
  return j;
}

}  // namespace gpukit
