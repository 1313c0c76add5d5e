#include "bench/bench.hpp"

#include "bench/health_check.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstdlib>
#include <iostream>

#include "bench/progress.hpp"
#include "bench/report.hpp"
#include "bench/hep/hepscore_format.hpp"
#include "bench/runner.hpp"
#include "bench/scoring.hpp"
#include "bench/selection.hpp"
#include "bench/storage_fs.hpp"
#include "compute/registry.hpp"
#include "core/io.hpp"
#include "core/units.hpp"
#include "probe/probe.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

namespace {

constexpr double max_init_timeout_s = 60;  // probing and plugin initialisation

// Energy meters for the selected devices: NVML for NVIDIA GPUs (the parent's
// counter for a MIG instance: clocks only), amd_smi for AMD GPUs, RAPL for the CPU.
json attach_meters(std::vector<BenchDevice>& devices, double timeout_s) {
  json status = json::object();
  std::shared_ptr<TelemetrySource> nvml;
  std::string nvml_problem;
  bool nvml_tried = false;
  std::shared_ptr<TelemetrySource> amd;
  std::string amd_problem;
  bool amd_tried = false;
  for (auto& d : devices) {
    if (d.kind == "cpu") {
      auto rapl = open_rapl_meter();
      if (rapl) {
        d.meter = *rapl;
        status["rapl"] = "ok";
      } else {
        d.energy_reason = "CPU energy: " + rapl.error().what();
        status["rapl"] = rapl.error().what();
      }
      continue;
    }
    if (d.vendor == "amd") {
      if (!amd_tried) {
        amd_tried = true;
        auto opened = open_amd_telemetry(timeout_s);
        if (opened) {
          amd = std::shared_ptr<TelemetrySource>(std::move(*opened));
          status["amd_smi"] = "ok";
        } else {
          amd_problem = opened.error().what();
          status["amd_smi"] = amd_problem;
        }
      }
      if (!amd) {
        d.energy_reason = "amd_smi: " + amd_problem;
        continue;
      }
      const auto known = amd->devices();
      if (std::find(known.begin(), known.end(), d.id) == known.end()) {
        d.energy_reason = "amd_smi does not list " + d.id;
        continue;
      }
      d.meter = make_telemetry_meter(amd, d.id, true);
      continue;
    }
    if (d.vendor != "nvidia") {
      d.energy_reason = "no telemetry for " + (d.vendor.empty() ? std::string("this device") : d.vendor + " GPUs");
      continue;
    }
    if (!nvml_tried) {
      nvml_tried = true;
      auto opened = open_nvidia_telemetry(timeout_s);
      if (opened) {
        nvml = std::shared_ptr<TelemetrySource>(std::move(*opened));
        status["nvml"] = "ok";
      } else {
        nvml_problem = opened.error().what();
        status["nvml"] = nvml_problem;
      }
    }
    if (!nvml) {
      d.energy_reason = "NVML: " + nvml_problem;
      continue;
    }
    const auto known = nvml->devices();
    const std::string target = d.kind == "mig" ? d.parent_uuid : d.id;
    if (std::find(known.begin(), known.end(), target) == known.end()) {
      d.energy_reason = "NVML does not list " + (target.empty() ? d.id : target);
      continue;
    }
    d.meter = make_telemetry_meter(nvml, target, d.kind == "gpu");
  }
  return status;
}

}  // namespace

Result<RunConfig> make_run_config(const BenchOptions& o) {
  RunConfig c;
  if (o.repetitions < 1) return usage_error("must be at least 1", "--repetitions");
  if (o.warmup < 0) return usage_error("must not be negative", "--warmup");
  c.repetitions = o.repetitions;
  c.warmup = o.warmup;
  c.quick = o.quick;
  c.workload_timeout_s = o.common.timeout_s;
  if (!(o.run_timeout_s > 0)) return usage_error("must be positive", "--run-timeout");
  c.run_timeout_s = o.run_timeout_s;
  if (!o.array_size.empty()) {
    auto b = parse_bytes(o.array_size);
    if (!b) return usage_error(b.error().message, "--array-size");
    if (*b < 8192) return usage_error("must be at least 8KiB", "--array-size");
    c.array_bytes = *b;
  }
  auto t = parse_bytes(o.max_transfer);
  if (!t) return usage_error(t.error().message, "--max-transfer");
  if (*t < 4096) return usage_error("must be at least 4KiB", "--max-transfer");
  c.max_transfer_bytes = *t;
  if (!o.max_memory.empty()) {
    auto m = parse_bytes(o.max_memory);
    if (!m) return usage_error(m.error().message, "--max-memory");
    if (*m < (1u << 20)) return usage_error("must be at least 1MiB", "--max-memory");
    c.max_memory_bytes = *m;
  }
  if (o.memtest_fraction != 0 && !(o.memtest_fraction > 0 && o.memtest_fraction <= 0.95))
    return usage_error("must be in (0, 0.95]", "--memtest-fraction");
  c.memtest_fraction = o.memtest_fraction;
  c.seed = o.seed ? o.seed
                  : static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  c.node = !o.no_node;
  if (c.quick) {
    // At most 15 s per device: fewer repetitions, shorter regions and power window.
    c.repetitions = std::min(c.repetitions, 3);
    c.warmup = std::min(c.warmup, 1);
    c.target_region_s = 0.005;
    c.energy_window_s = 0.25;
  }
  auto names = select_workloads(o.workloads);
  if (!names) return names.error();
  c.workloads = *names;
  c.storage.scratch_given = !o.scratch.empty();
  const char* tmpdir = std::getenv("TMPDIR");
  c.storage.scratch = !o.scratch.empty() ? o.scratch : tmpdir && *tmpdir ? tmpdir : "/tmp";
  c.storage.allow_network = o.allow_network_scratch;
  if (!o.max_storage.empty()) {
    auto m = parse_bytes(o.max_storage);
    if (!m) return usage_error(m.error().message, "--max-storage");
    if (*m < 4096) return usage_error("must be at least 4KiB", "--max-storage");
    c.storage.max_bytes = *m;
  }
  const bool hep = std::any_of(c.workloads.begin(), c.workloads.end(), [](const std::string& w) {
    return std::any_of(workload_registry().begin(), workload_registry().end(),
                       [&](const WorkloadEntry& e) { return e.name == w && e.family == "hep"; });
  });
  if (hep && (c.repetitions < 3 || c.repetitions % 2 == 0))
    return usage_error("the HEP scores take the median of an odd number (at least 3) of repetitions", "--repetitions");
  return c;
}

namespace {

// The section in the chosen format; json: the whole document with it.
std::string render(Document& doc, json section, const std::string& format, const BenchOptions& o) {
  if (format == "table") return render_bench_table(section);
  if (format == "csv") return render_bench_csv(section);
  if (format == "hepscore") {
    hep::HepscoreRunInfo info;
    info.version = section["generator"]["version"].get<std::string>();
    info.description = "gpukit gpubench HEP workloads (me_eemumu, em_shower, track_fit, mlp_infer)";
    std::uint64_t items = 0;
    for (const auto& d : section["devices"]) {
      if (d["kind"] == "cpu" && d["environment"]["cores"].is_number_integer())
        info.threads_per_copy = d["environment"]["cores"].get<int>();
      for (const auto& r : d["results"])
        if (r["family"] == "hep" && r["problem_size"].contains("items"))
          items = std::max(items, r["problem_size"]["items"].get<std::uint64_t>());
    }
    info.events_per_thread = items;
    std::string args = o.quick ? "--quick" : "";
    for (const auto& w : o.workloads) args += (args.empty() ? "" : " ") + std::string("--workload ") + w;
    info.extra_arguments = args;
    info.log = section["status"] == "ok" ? "ok" : "gpubench status: " + section["status"].get<std::string>();
    return dump_json(hep::hepscore_summary(hep_measurements(section), info), 2) + "\n";
  }
  doc.set_section("bench", std::move(section));
  return doc.dump();
}

// The storage workloads' scratch directory, checked before anything runs: a
// --scratch that cannot be used is bad input; a default one that cannot be
// used ($TMPDIR on a network filesystem) skips the storage workloads, saying why.
Status check_storage_scratch(RunConfig& c) {
  const bool storage = std::any_of(c.workloads.begin(), c.workloads.end(),
                                   [](const std::string& w) { return w.rfind("storage_", 0) == 0; });
  if (!storage) return {};
  auto fs = check_scratch(c.storage.scratch, c.storage.allow_network, "--scratch");
  if (fs) return {};
  if (c.storage.scratch_given) return fs.error();
  c.storage.unusable = "the default scratch directory cannot be used: " + fs.error().what();
  return {};
}

// --hepscore-config: the hep-score configuration under which hep-score's own
// arithmetic on the --format hepscore summary gives this section's score.
Status write_hepscore_config(const json& section, const hep::Reference& reference, const BenchOptions& o) {
  if (o.hepscore_config.empty()) return {};
  std::vector<std::string> workloads;
  const auto measured = hep_measurements(section);
  for (const auto& d : measured)
    for (const auto& w : d.workloads)
      if (std::find(workloads.begin(), workloads.end(), w.workload) == workloads.end()) workloads.push_back(w.workload);
  hep::HepscoreConfigInfo info;
  info.version = section["generator"]["version"].get<std::string>();
  info.devices = std::max<std::size_t>(measured.size(), 1);
  return write_file_atomic(o.hepscore_config, hep::hepscore_config_yaml(reference, workloads, info));
}

// --rescore: the input's bench section scored against another reference.
Result<int> rescore_document(BenchOptions& o) {
  auto reference = load_reference(o.reference);
  if (!reference) return reference.error();
  auto input = read_document(o.common.input, o.common.limits);
  if (!input) return input.error();
  if (!*input) return usage_error("--rescore needs a document with a bench section on the input", "--rescore");
  Document doc = std::move(**input);
  const json* bench = doc.section("bench");
  if (!bench || !bench->contains("devices") || !(*bench)["devices"].is_array())
    return usage_error("the input document has no bench section with devices", o.common.input.value_or("stdin"));
  json section = *bench;
  if (auto st = score_bench_section(section, *reference); !st) return st.error();
  if (auto st = write_hepscore_config(section, *reference, o); !st) return st.error();
  if (auto st = write_output(render(doc, std::move(section), o.common.format, o), o.common.output); !st) return st.error();
  return static_cast<int>(ExitCode::success);
}

}  // namespace

Result<int> run_bench(BenchOptions& o) {
  if (o.rescore) return rescore_document(o);
  std::optional<HealthLimits> limits;
  if (o.check) {
    auto loaded = load_health_limits();
    if (!loaded) return loaded.error();
    limits = std::move(*loaded);
    if (!o.workloads.empty()) return usage_error("--check runs its own workloads; leave --workload out", "--check");
    o.workloads = check_workloads();
    o.quick = true;
    if (o.devices.empty()) o.devices = {"gpu"};
    if (o.memtest_fraction == 0) o.memtest_fraction = limits->memory_usable_fraction;
  }
  auto config = make_run_config(o);
  if (!config) return config.error();
  if (auto st = check_storage_scratch(*config); !st) return st.error();
  // A bad reference file is bad input: say so before anything is measured.
  auto reference = load_reference(o.reference);
  if (!reference) return reference.error();
  auto input = read_document(o.common.input, o.common.limits);
  if (!input) return input.error();
  Document doc = input->value_or(Document());
  const std::string started = utc_timestamp();

  SelectionRequest request{o.devices};
  if (auto st = check_device_tokens(request); !st) return st.error();
  const double init_timeout = std::min(o.common.timeout_s, max_init_timeout_s);
  const bool gpus = selection_needs_gpus(request);
  if (gpus) {
    ProbeRequest probe;
    probe.timeout_s = init_timeout;
    if (auto st = ensure_probed(doc, probe); !st) return st.error();
  }
  RegistryOptions ro;
  ro.plugins = gpus;
  ro.timeout_s = init_timeout;
  auto registry = ComputeRegistry::open(ro);
  if (!registry) return registry.error();
  auto selection = select_devices(doc.root(), *registry, request);
  if (!selection) return selection.error();
  for (const auto& w : selection->warnings) warn("gpubench", o.common, w);
  for (const auto& p : registry->plugins())
    if (p.state == PluginState::timeout) warn("gpubench", o.common, p.message());

  ReportContext ctx;
  ctx.config = *config;
  ctx.started_at = started;
  ctx.plugins = registry->plugins();
  ctx.telemetry = attach_meters(selection->devices, init_timeout);

  std::vector<WorkloadEntry> entries;
  for (const auto& e : workload_registry())
    if (std::find(config->workloads.begin(), config->workloads.end(), e.name) != config->workloads.end())
      entries.push_back(e);

  Runner runner(*config, registry->host_memory(), PeakModel::load(), registry->host_memory()->numa_nodes());
  Progress progress(std::cerr, stderr_is_terminal() && !o.common.quiet);
  runner.on_progress([&](int done, int total, const std::string& label) { progress.update(done, total, label); });
  RunReport report = runner.run(selection->devices, entries);
  progress.finish();

  json section = bench_section(report, ctx);
  annotate_hep_results(section);
  if (auto st = score_bench_section(section, *reference); !st) return st.error();
  bool failed = section["status"] == "failed";
  if (limits) {
    auto sick = apply_level2_health(doc, section, *limits);
    if (!sick) return sick.error();
    failed = failed || *sick;
  }
  if (auto st = write_hepscore_config(section, *reference, o); !st) return st.error();
  if (auto st = write_output(render(doc, std::move(section), o.common.format, o), o.common.output); !st) return st.error();

  bool timed_out = false;
  for (const auto& p : registry->plugins()) timed_out = timed_out || p.state == PluginState::timeout;
  if (report.deadline_hit || timed_out) {
    warn("gpubench", o.common, "a deadline expired: the results measured so far are written; the rest are marked");
    return static_cast<int>(ExitCode::deadline);
  }
  if (failed) return static_cast<int>(ExitCode::negative);
  return static_cast<int>(ExitCode::success);
}

}  // namespace gpukit
