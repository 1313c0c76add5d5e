#include "bench/runner.hpp"

#include <algorithm>
#include <barrier>
#include <chrono>
#include <thread>

#include "compute/kernels/common.cuh"
#include "core/deadline.hpp"

namespace gpukit {

namespace {

using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

json sample_json(const Result<DeviceSample>& s) {
  if (!s) return {{"error", s.error().what()}};
  auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  json j = {{"power_w", opt(s->power_w)},
            {"energy_j", opt(s->energy_j)},
            {"sm_clock_mhz", opt(s->sm_clock_mhz)},
            {"memory_clock_mhz", opt(s->memory_clock_mhz)},
            {"temperature_c", opt(s->temperature_c)},
            {"throttle_reasons", s->throttle_reason_names}};
  if (!s->unavailable.empty()) {
    json u = json::object();
    for (const auto& [k, why] : s->unavailable) u[k] = why;
    j["unavailable"] = u;
  }
  return j;
}

std::uint64_t repetition_seed(std::uint64_t base, int i) {
  return kernels::mix64(base * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(i)) | 1;
}

const char* work_unit(const std::string& unit) {
  if (unit == "GB/s") return "J/GB";
  if (unit == "TFLOP/s") return "J/TFLOP";
  if (unit == "TOP/s") return "J/TOP";
  return nullptr;
}

void fail(ResultRecord& r, const std::string& reason) {
  r.status = "failed";
  r.reason = reason;
}

void merge_validation(ResultRecord& r, const Validation& v) {
  r.validated = true;
  Validation& into = r.validation;
  if (into.method.empty()) into.method = v.method;
  into.tolerance = v.tolerance;
  into.checked += v.checked;
  if (v.max_rel_error && (!into.max_rel_error || !(*v.max_rel_error <= *into.max_rel_error)))
    into.max_rel_error = v.max_rel_error;
  if (!v.passed) {
    into.passed = false;
    if (into.detail.empty()) into.detail = v.detail;
  }
}

}  // namespace

namespace detail {

std::uint64_t planned_statistical_checks(const RunConfig& config, const std::vector<BenchDevice>& devices,
                                         const std::vector<WorkloadEntry>& workloads) {
  const auto runs = static_cast<std::uint64_t>(std::max(config.warmup, 0) + std::max(config.repetitions, 0));
  std::uint64_t per_device = 0, per_node_device = 0;
  for (const auto& w : workloads) {
    const auto made = w.make();
    const auto checks = runs * static_cast<std::uint64_t>(std::max(made->statistical_checks(), 0));
    per_device += checks;
    if (made->additive()) per_node_device += checks;
  }
  std::uint64_t usable = 0, node = 0;
  for (const auto& d : devices) {
    if (!d.device || !d.unusable.empty()) continue;
    ++usable;
    if (d.kind != "cpu") ++node;
  }
  const bool concurrent_node = config.node && node >= 2;
  return usable * per_device + (concurrent_node ? node * per_node_device : 0);
}

ResultRecord result_header(const Workload& w) {
  ResultRecord r;
  r.workload = w.name();
  r.family = w.family();
  r.unit = w.unit();
  r.precision = w.precision();
  r.higher_is_better = w.higher_is_better();
  return r;
}

ResultRecord measure(const WorkloadEntry& entry, WorkloadContext ctx, std::shared_ptr<EnergyMeter> meter) {
  auto start = clock_type::now();
  auto w = entry.make();
  ResultRecord r = result_header(*w);
  if (auto why = w->unsupported(ctx); !why.empty()) {
    r.status = "skipped";
    r.reason = why;
    return r;
  }
  json before = meter ? sample_json(meter->read()) : json(nullptr);
  if (auto st = w->prepare(ctx); !st) {
    fail(r, "preparation failed: " + st.error().what());
    r.problem_size = w->problem_size();
    w->release(ctx);
    r.duration_s = since(start);
    return r;
  }
  r.problem_size = w->problem_size();
  const int total = ctx.config.warmup + ctx.config.repetitions;
  std::vector<double> seconds;
  for (int i = 0; i < total && r.status == "ok"; ++i) {
    const bool warmup = i < ctx.config.warmup;
    auto m = w->run(ctx, repetition_seed(ctx.config.seed, i));
    if (!m) {
      fail(r, (warmup ? "warm-up failed: " : "repetition failed: ") + m.error().what());
      break;
    }
    merge_validation(r, m->validation);
    if (!m->validation.passed) {
      fail(r, "validation failed" + std::string(warmup ? " in the warm-up" : "") +
                  (m->validation.detail.empty() ? "" : ": " + m->validation.detail));
      break;
    }
    if (warmup) continue;
    r.values.push_back(m->value);
    seconds.push_back(m->seconds);
  }
  if (r.status == "ok") r.stats = summarize(r.values);
  else r.values.clear();  // a failed result carries no number

  if (!meter) {
    r.energy_reason = "no telemetry for this device";
  } else if (r.status == "ok") {
    json after;
    if (w->additive() && work_unit(r.unit)) {
      // A sustained run long enough for the energy counter to move.
      auto e0 = meter->read();
      auto st = w->sustain(ctx, ctx.config.energy_window_s);
      auto e1 = meter->read();
      after = sample_json(e1);
      if (!st) {
        r.energy_reason = "sustained run failed: " + st.error().what();
      } else if (!meter->attributable()) {
        r.energy_reason = "MIG instance: the GPU's power and energy cover every instance";
      } else if (e0 && e1 && e0->energy_j && e1->energy_j && e1->time_s > e0->time_s &&
                 *e1->energy_j >= *e0->energy_j) {
        r.power_w_mean = (*e1->energy_j - *e0->energy_j) / (e1->time_s - e0->time_s);
      } else if (e1 && e1->power_w) {
        // No energy counter, or one that restarted during the run (a driver
        // reload, amd_smi's counter reset): the power reading at the end of the
        // run, never a negative difference.
        r.power_w_mean = *e1->power_w;
      } else {
        r.energy_reason = "the telemetry has neither an energy counter nor a power reading";
      }
      if (r.power_w_mean && *r.power_w_mean > 0) {
        r.energy_j = *r.power_w_mean * median(seconds);
        r.per_watt = r.stats.median / *r.power_w_mean;
      }
    } else {
      after = sample_json(meter->read());
      r.energy_reason = "not a throughput: no energy per unit of work";
    }
    r.telemetry = {{"source", meter->source()}, {"before", before}, {"after", after}};
  } else {
    r.energy_reason = "the workload did not complete";
  }
  r.details = w->details();
  w->release(ctx);
  r.duration_s = since(start);
  return r;
}

}  // namespace detail

Runner::Runner(RunConfig config, std::shared_ptr<HostMemory> host, PeakModel peaks, std::vector<int> numa_nodes)
    : config_(std::move(config)), host_(std::move(host)), peaks_(std::move(peaks)), numa_nodes_(std::move(numa_nodes)) {}

WorkloadContext Runner::context_for(const BenchDevice& d) const {
  WorkloadContext ctx;
  ctx.device = d.device;
  ctx.host = host_;
  ctx.config = config_;
  ctx.kind = d.kind;
  ctx.numa_node = d.numa_node;
  ctx.numa_nodes = numa_nodes_;
  ctx.probed_memory_bytes = d.facts.memory_bytes;
  return ctx;
}

void Runner::finish(ResultRecord& r, const DeviceFacts* facts) const {
  if (!facts) return;
  if (r.family != "hep") {
    r.peak = peaks_.peak(*facts, r.workload, r.value());
    return;
  }
  // A HEP workload with a FLOP count: its rate against the FMA peak of its
  // precision, expressed in its own unit (items per second at that peak).
  const double flops = r.details.is_object() && r.details.contains("flops_per_item") &&
                               r.details["flops_per_item"].is_number()
                           ? r.details["flops_per_item"].get<double>()
                           : 0;
  if (!(flops > 0) || !r.precision) {
    r.peak.source = "no FLOP count: not compared with a peak";
    return;
  }
  PeakFigure fma = peaks_.peak(*facts, "fma_" + *r.precision, std::nullopt);
  if (!fma.value) {
    r.peak.source = "fma_" + *r.precision + " peak unknown: " + fma.source;
    return;
  }
  r.peak.value = *fma.value * 1e12 / flops;
  r.peak.source = "fma_" + *r.precision + " peak (" + fma.source + ") / " + std::to_string(static_cast<long long>(flops)) +
                  " FLOP per item";
  if (r.workload.rfind("mlp_infer_blas_", 0) == 0 && *r.precision != "fp32")
    r.peak.source += "; the vendor GEMM may use matrix (tensor) units, which this vector peak leaves out";
  if (auto v = r.value()) PeakModel::judge(r.peak, r.workload, *v);
}

ResultRecord Runner::measure_guarded(const BenchDevice& d, const WorkloadEntry& w, double limit_s) {
  if (!d.device || !d.unusable.empty()) {
    ResultRecord r = detail::result_header(*w.make());
    r.status = "skipped";
    r.reason = d.unusable.empty() ? "no compute backend can run this device" : d.unusable;
    finish(r, &d.facts);  // the peak is still known from gpuprobe's facts
    return r;
  }
  WorkloadContext ctx = context_for(d);
  auto meter = d.meter;
  WorkloadEntry entry = w;
  auto outcome = run_with_deadline<ResultRecord>(
      [entry, ctx, meter]() -> Result<ResultRecord> { return detail::measure(entry, ctx, meter); }, limit_s,
      w.name + " on " + d.id);
  ResultRecord r;
  if (outcome) {
    r = std::move(*outcome);
  } else {
    r = detail::result_header(*w.make());
    r.deadline = true;
    fail(r, outcome.error().message + " (a kernel or driver call hung)");
    r.duration_s = limit_s;
  }
  if (!d.meter && !d.energy_reason.empty()) r.energy_reason = d.energy_reason;
  finish(r, &d.facts);
  return r;
}

ResultRecord Runner::measure_node(const std::vector<const BenchDevice*>& devices, const WorkloadEntry& w,
                                  double limit_s) {
  std::vector<WorkloadContext> contexts;
  std::vector<std::string> ids;
  for (const BenchDevice* d : devices) {
    contexts.push_back(context_for(*d));
    ids.push_back(d->id);
  }
  WorkloadEntry entry = w;
  auto outcome = run_with_deadline<ResultRecord>(
      [entry, contexts, ids]() -> Result<ResultRecord> {
        const size_t n = contexts.size();
        std::barrier sync(static_cast<std::ptrdiff_t>(n));
        std::vector<std::vector<double>> values(n);
        std::vector<std::string> problems(n);
        std::vector<std::string> skipped(n);
        std::vector<std::thread> threads;
        for (size_t i = 0; i < n; ++i) {
          threads.emplace_back([&, i] {
            WorkloadContext ctx = contexts[i];
            auto wl = entry.make();
            if (auto why = wl->unsupported(ctx); !why.empty()) {
              skipped[i] = ids[i] + ": " + why;
              sync.arrive_and_drop();
              return;
            }
            if (auto st = wl->prepare(ctx); !st) {
              problems[i] = ids[i] + ": preparation failed: " + st.error().what();
              wl->release(ctx);
              sync.arrive_and_drop();
              return;
            }
            const int total = ctx.config.warmup + ctx.config.repetitions;
            for (int r = 0; r < total; ++r) {
              // Every device starts each repetition together.
              sync.arrive_and_wait();
              auto m = wl->run(ctx, repetition_seed(ctx.config.seed, r));
              std::string bad = !m ? m.error().what() : !m->validation.passed ? "validation failed: " + m->validation.detail : "";
              if (!bad.empty()) {
                problems[i] = ids[i] + ": " + bad;
                sync.arrive_and_drop();
                wl->release(ctx);
                return;
              }
              if (r >= ctx.config.warmup) values[i].push_back(m->value);
            }
            sync.arrive_and_drop();
            wl->release(ctx);
          });
        }
        for (auto& t : threads) t.join();
        ResultRecord r = detail::result_header(*entry.make());
        r.devices = ids;
        r.concurrent = true;
        for (size_t i = 0; i < n; ++i) {
          if (!problems[i].empty()) {
            fail(r, problems[i]);
            return r;
          }
          if (!skipped[i].empty()) {
            r.status = "skipped";
            r.reason = skipped[i];
            return r;
          }
        }
        const size_t reps = values[0].size();
        for (size_t k = 0; k < reps; ++k) {
          double sum = 0;
          for (size_t i = 0; i < n; ++i) sum += values[i][k];
          r.values.push_back(sum);
        }
        r.stats = summarize(r.values);
        r.validated = true;
        r.validation.method = "each device's repetitions validated as in its own result";
        r.energy_reason = "node figures carry no energy: see each device";
        return r;
      },
      limit_s, w.name + " on all devices at once");
  if (outcome) return std::move(*outcome);
  ResultRecord r = detail::result_header(*w.make());
  r.devices = ids;
  r.concurrent = true;
  r.deadline = true;
  fail(r, outcome.error().message + " (a kernel or driver call hung)");
  return r;
}

RunReport Runner::run(const std::vector<BenchDevice>& devices, const std::vector<WorkloadEntry>& workloads) {
  RunReport report;
  // Every context copies config_: each validation knows the run's false-alarm share.
  config_.statistical_checks = detail::planned_statistical_checks(config_, devices, workloads);
  report.statistical_checks = config_.statistical_checks;
  const auto start = clock_type::now();
  std::vector<const BenchDevice*> node;
  for (const auto& d : devices)
    if (d.kind != "cpu" && d.device && d.unusable.empty()) node.push_back(&d);
  std::vector<const WorkloadEntry*> additive;
  for (const auto& w : workloads)
    if (w.make()->additive()) additive.push_back(&w);
  const bool concurrent_node = config_.node && node.size() >= 2;
  const auto node_only = static_cast<std::size_t>(
      std::count_if(workloads.begin(), workloads.end(), [](const WorkloadEntry& w) { return w.node_only; }));
  const int total = static_cast<int>(devices.size() * (workloads.size() - node_only) +
                                     (concurrent_node ? additive.size() : 0) + node_only);
  int step = 0;
  std::string stop_reason;

  auto skip = [&](const WorkloadEntry& w, const std::string& reason) {
    ResultRecord r = detail::result_header(*w.make());
    r.status = "skipped";
    r.reason = reason;
    return r;
  };
  auto remaining = [&] { return config_.run_timeout_s - since(start); };

  for (const auto& d : devices) {
    DeviceReport dr{d, {}};
    // --quick: the micro-benchmarks and the HEP workloads each have the budget.
    auto group_start = clock_type::now();
    bool in_hep = false;
    for (const auto& w : workloads) {
      if (w.node_only) continue;
      if ((w.family == "hep") != in_hep) {
        in_hep = w.family == "hep";
        group_start = clock_type::now();
      }
      if (progress_) progress_(step++, total, w.name + " on " + d.id);
      if (stop_reason.empty() && remaining() <= 0) {
        report.deadline_hit = true;
        stop_reason = "not run: the run's deadline (--run-timeout) passed";
      }
      if (!stop_reason.empty()) {
        dr.results.push_back(skip(w, stop_reason));
        continue;
      }
      if (config_.quick && since(group_start) > config_.quick_budget_s) {
        char budget[64];
        std::snprintf(budget, sizeof budget, "%g", config_.quick_budget_s);
        dr.results.push_back(skip(w, std::string("--quick: this device's ") + budget + " s budget for the " +
                                         (in_hep ? "HEP workloads" : "micro-benchmarks") + " is spent"));
        continue;
      }
      ResultRecord r = measure_guarded(d, w, std::min(config_.workload_timeout_s, remaining()));
      if (r.deadline) {
        report.deadline_hit = true;
        stop_reason = "not run: " + w.name + " on " + d.id + " hit its deadline (the device may be wedged)";
      }
      dr.results.push_back(std::move(r));
    }
    report.devices.push_back(std::move(dr));
  }

  for (const BenchDevice* d : node) report.node_devices.push_back(d->id);
  if (config_.node && node.size() == 1) {
    // One device: its figures are the node's.
    for (const auto& dr : report.devices)
      if (dr.device.id == node.front()->id)
        for (const auto& r : dr.results)
          if (std::any_of(additive.begin(), additive.end(), [&](const WorkloadEntry* w) { return w->name == r.workload; })) {
            ResultRecord copy = r;
            copy.devices = {dr.device.id};
            copy.concurrent = false;
            report.node_results.push_back(std::move(copy));
          }
  } else if (concurrent_node) {
    for (const WorkloadEntry* w : additive) {
      if (progress_) progress_(step++, total, w->name + " on all devices at once");
      if (stop_reason.empty() && remaining() <= 0) {
        report.deadline_hit = true;
        stop_reason = "not run: the run's deadline (--run-timeout) passed";
      }
      if (!stop_reason.empty()) {
        report.node_results.push_back(skip(*w, stop_reason));
        report.node_results.back().devices = report.node_devices;
        continue;
      }
      ResultRecord r = measure_node(node, *w, std::min(config_.workload_timeout_s, remaining()));
      if (r.deadline) {
        report.deadline_hit = true;
        stop_reason = "not run: " + w->name + " on all devices hit its deadline";
      }
      // The node's peak: the sum of the devices' peaks, when every one is known.
      std::optional<double> sum = 0.0;
      for (const BenchDevice* d : node) {
        auto p = peaks_.peak(d->facts, r.workload, std::nullopt);
        if (p.value && sum) *sum += *p.value;
        else sum.reset();
      }
      if (sum && *sum > 0) {
        r.peak.value = sum;
        r.peak.source = "sum of the devices' peaks";
        if (auto v = r.value()) PeakModel::judge(r.peak, r.workload, *v);
      } else {
        r.peak.source = "unknown: a device's peak is unknown";
      }
      report.node_results.push_back(std::move(r));
    }
  }
  // The node's own workloads (storage): once, on no device.
  for (const auto& w : workloads) {
    if (!w.node_only) continue;
    if (progress_) progress_(step++, total, w.name + " on the node");
    if (stop_reason.empty() && remaining() <= 0) {
      report.deadline_hit = true;
      stop_reason = "not run: the run's deadline (--run-timeout) passed";
    }
    if (!stop_reason.empty()) {
      report.node_results.push_back(skip(w, stop_reason));
      continue;
    }
    ResultRecord r = measure_node_only(w, std::min(config_.workload_timeout_s, remaining()));
    if (r.deadline) {
      report.deadline_hit = true;
      stop_reason = "not run: " + w.name + " hit its deadline";
    }
    report.node_results.push_back(std::move(r));
  }
  report.duration_s = since(start);
  return report;
}

ResultRecord Runner::measure_node_only(const WorkloadEntry& w, double limit_s) {
  WorkloadContext ctx;
  ctx.host = host_;
  ctx.config = config_;
  ctx.kind = "node";
  ctx.numa_nodes = numa_nodes_;
  WorkloadEntry entry = w;
  auto outcome = run_with_deadline<ResultRecord>(
      [entry, ctx]() -> Result<ResultRecord> { return detail::measure(entry, ctx, nullptr); }, limit_s,
      w.name + " on the node");
  ResultRecord r;
  if (outcome) {
    r = std::move(*outcome);
  } else {
    r = detail::result_header(*w.make());
    r.deadline = true;
    fail(r, outcome.error().message + " (its scratch files are removed on exit)");
    r.duration_s = limit_s;
  }
  r.energy_reason = "a node workload: no energy reading";
  r.peak.source = "no peak: storage figures are compared with none";
  return r;
}

}  // namespace gpukit
