#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/bench.hpp"
#include "bench/energy.hpp"
#include "bench/peak.hpp"
#include "bench/progress.hpp"
#include "bench/reference.hpp"
#include "bench/report.hpp"
#include "bench/runner.hpp"
#include "bench/scoring.hpp"
#include "bench/selection.hpp"
#include "compute/cpu/cpu_backend.hpp"
#include "compute/kernels/fma.cuh"
#include "compute/kernels/names.hpp"
#include "compute/registry.hpp"
#include "core/deadline.hpp"
#include "test_support.hpp"

using namespace gpukit;

using gpukit::test::ScopedEnvironment;

namespace {

// A workload whose figures and failures the test chooses.
struct Script {
  std::vector<double> values = {10, 12, 11, 13, 9, 11};
  bool hang = false;
  int bad_validation_at = -1;  // run() call that fails validation
  std::string unsupported;
  bool prepare_fails = false;
};

class ScriptedWorkload final : public Workload {
 public:
  explicit ScriptedWorkload(Script s) : s_(std::move(s)) {}
  std::string name() const override { return "stream_copy"; }
  std::string family() const override { return "stream"; }
  std::string unit() const override { return "GB/s"; }
  std::string unsupported(const WorkloadContext&) const override { return s_.unsupported; }
  Status prepare(WorkloadContext&) override {
    if (s_.prepare_fails) return environment_error("out of memory", "scripted");
    return {};
  }
  Result<Measurement> run(WorkloadContext&, std::uint64_t) override {
    if (s_.hang)
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    Measurement m;
    m.value = s_.values[static_cast<size_t>(calls_) % s_.values.size()];
    m.seconds = 1 / m.value;
    m.validation.method = "scripted";
    m.validation.max_rel_error = 0;
    m.validation.tolerance = 0;
    if (calls_ == s_.bad_validation_at) {
      m.validation.passed = false;
      m.validation.max_rel_error = 0.5;
      m.validation.detail = "element 3 is wrong";
    }
    ++calls_;
    return m;
  }
  Status sustain(WorkloadContext&, double) override { return {}; }
  json problem_size() const override { return {{"elements", 1}}; }
  void release(WorkloadContext&) override {}

 private:
  Script s_;
  int calls_ = 0;
};

WorkloadEntry scripted(Script s) {
  return {"stream_copy", "stream", [s] { return std::make_unique<ScriptedWorkload>(s); }};
}

std::shared_ptr<Backend> cpu_backend() {
  auto b = make_cpu_backend();
  REQUIRE(b.ok());
  return std::shared_ptr<Backend>(std::move(*b));
}

RunConfig small_config() {
  RunConfig c;
  c.repetitions = 3;
  c.warmup = 1;
  c.target_region_s = 0.002;
  c.energy_window_s = 0.05;
  c.max_memory_bytes = 16ull << 20;
  c.max_transfer_bytes = 1 << 20;
  c.seed = 42;
  c.workload_timeout_s = 60;
  return c;
}

BenchDevice bench_cpu(const std::shared_ptr<Backend>& backend) {
  BenchDevice d;
  d.id = "cpu";
  d.kind = "cpu";
  d.name = "test CPU";
  d.backend = "cpu";
  d.device = backend->devices().front();
  d.facts.kind = "cpu";
  return d;
}

std::shared_ptr<HostMemory> host_memory() {
  auto h = HostMemory::open();
  REQUIRE(h.ok());
  return *h;
}

// The CPU device with one kernel deliberately wrong: the triad forgets its scalar.
class BrokenTriad final : public Device {
 public:
  explicit BrokenTriad(std::shared_ptr<Device> d) : d_(std::move(d)) {}
  const DeviceInfo& info() const override { return d_->info(); }
  std::string unavailable_kernel(const std::string& k) const override { return d_->unavailable_kernel(k); }
  Result<void*> allocate(std::size_t b) override { return d_->allocate(b); }
  void release(void* p) override { d_->release(p); }
  Result<std::uint64_t> free_memory() override { return d_->free_memory(); }
  Status pin_host(void* p, std::size_t b) override { return d_->pin_host(p, b); }
  void unpin_host(void* p) override { d_->unpin_host(p); }
  int streams() const override { return d_->streams(); }
  Status copy(void* a, const void* b, std::size_t n, CopyKind k, int s) override { return d_->copy(a, b, n, k, s); }
  Status launch(const std::string& name, const KernelArgs& args, int s) override {
    return d_->launch(name == kernel::stream_triad ? kernel::stream_add : name, args, s);
  }
  Status synchronize() override { return d_->synchronize(); }
  Result<double> time_region(const std::function<Status()>& e, bool h) override { return d_->time_region(e, h); }

 private:
  std::shared_ptr<Device> d_;
};

json load_fixture(const std::string& name) { return json::parse(test::read_file(test::fixture("bench/" + name))); }
}  // namespace

TEST_CASE("bench: a result's statistics are over the repetitions after the warm-up") {
  auto backend = cpu_backend();
  WorkloadContext ctx;
  ctx.device = backend->devices().front();
  ctx.config = small_config();
  ctx.config.repetitions = 5;
  ResultRecord r = detail::measure(scripted({}), ctx, nullptr);
  CHECK(r.status == "ok");
  REQUIRE(r.values == std::vector<double>{12, 11, 13, 9, 11});  // the first value (10) was the warm-up
  CHECK(r.stats.median == 11);
  CHECK(r.stats.min == 9);
  CHECK(r.stats.max == 13);
  CHECK(r.stats.cv == doctest::Approx(summarize({12, 11, 13, 9, 11}).cv));
  CHECK(r.validated);
  CHECK(r.validation.passed);
  CHECK(r.energy_reason == "no telemetry for this device");
}

namespace {
// Energy readings the test chooses, one per read(), the last repeated.
class ScriptedMeter final : public EnergyMeter {
 public:
  explicit ScriptedMeter(std::vector<DeviceSample> s) : s_(std::move(s)) {}
  std::string source() const override { return "scripted"; }
  bool attributable() const override { return true; }
  Result<DeviceSample> read() override { return s_[std::min(next_++, s_.size() - 1)]; }

 private:
  std::vector<DeviceSample> s_;
  std::size_t next_ = 0;
};

DeviceSample energy_sample(double time_s, double energy_j, double power_w) {
  DeviceSample s;
  s.time_s = time_s;
  s.energy_j = energy_j;
  s.power_w = power_w;
  return s;
}
}  // namespace

TEST_CASE("bench: power from the energy counter, and never negative when the counter restarts during the run") {
  auto backend = cpu_backend();
  WorkloadContext ctx;
  ctx.device = backend->devices().front();
  ctx.config = small_config();
  // before, e0, e1: 300 J over 1 s is 300 W.
  auto steady = std::make_shared<ScriptedMeter>(
      std::vector<DeviceSample>{energy_sample(0, 5000, 250), energy_sample(1, 5000, 250), energy_sample(2, 5300, 280)});
  ResultRecord r = detail::measure(scripted({}), ctx, steady);
  REQUIRE(r.power_w_mean);
  CHECK(*r.power_w_mean == doctest::Approx(300));
  // The counter went back to zero between e0 and e1 (amd_smi resets it): the
  // power reading at the end stands in, not (40 - 5000) J / 1 s.
  auto reset = std::make_shared<ScriptedMeter>(
      std::vector<DeviceSample>{energy_sample(0, 5000, 250), energy_sample(1, 5000, 250), energy_sample(2, 40, 280)});
  ResultRecord z = detail::measure(scripted({}), ctx, reset);
  REQUIRE(z.power_w_mean);
  CHECK(*z.power_w_mean == doctest::Approx(280));
  CHECK(z.energy_reason.empty());
}

TEST_CASE("bench: statuses: unsupported is skipped, failed validation and preparation are failed without a value") {
  auto backend = cpu_backend();
  WorkloadContext ctx;
  ctx.device = backend->devices().front();
  ctx.config = small_config();

  Script unsupported;
  unsupported.unsupported = "no such unit here";
  ResultRecord s = detail::measure(scripted(unsupported), ctx, nullptr);
  CHECK(s.status == "skipped");
  CHECK(s.reason == "no such unit here");
  CHECK_FALSE(s.value());

  Script bad;
  bad.bad_validation_at = 2;  // the second timed repetition
  ResultRecord f = detail::measure(scripted(bad), ctx, nullptr);
  CHECK(f.status == "failed");
  CHECK(f.reason == "validation failed: element 3 is wrong");
  CHECK(f.values.empty());
  CHECK_FALSE(f.value());
  CHECK_FALSE(f.validation.passed);
  CHECK(*f.validation.max_rel_error == 0.5);

  Script warm;
  warm.bad_validation_at = 0;
  CHECK(detail::measure(scripted(warm), ctx, nullptr).reason == "validation failed in the warm-up: element 3 is wrong");

  Script prep;
  prep.prepare_fails = true;
  ResultRecord p = detail::measure(scripted(prep), ctx, nullptr);
  CHECK(p.status == "failed");
  CHECK(p.reason == "preparation failed: scripted: out of memory");
}

TEST_CASE("bench: a hanging workload fails at its deadline and stops the run") {
  auto backend = cpu_backend();
  RunConfig c = small_config();
  c.workload_timeout_s = 1;
  Runner runner(c, host_memory(), PeakModel::from_json(json::object()), {0});
  Script hang;
  hang.hang = true;
  std::vector<WorkloadEntry> work = {scripted({}), scripted(hang), scripted({})};
  auto start = std::chrono::steady_clock::now();
  RunReport r = runner.run({bench_cpu(backend)}, work);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(took < c.workload_timeout_s + 1);
  CHECK(r.deadline_hit);
  REQUIRE(r.devices.size() == 1);
  const auto& results = r.devices[0].results;
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == "ok");
  CHECK(results[1].status == "failed");
  CHECK(results[1].deadline);
  CHECK(results[1].reason == "stream_copy on cpu did not return within 1 s (a kernel or driver call hung)");
  CHECK(results[2].status == "skipped");
  CHECK(results[2].reason == "not run: stream_copy on cpu hit its deadline (the device may be wedged)");
  CHECK(abandoned_calls() >= 1);
}

TEST_CASE("bench: the run's own deadline skips what is left") {
  auto backend = cpu_backend();
  RunConfig c = small_config();
  c.run_timeout_s = 1e-9;
  Runner runner(c, host_memory(), PeakModel::from_json(json::object()), {0});
  RunReport r = runner.run({bench_cpu(backend)}, {scripted({})});
  CHECK(r.deadline_hit);
  CHECK(r.devices[0].results[0].status == "skipped");
  CHECK(r.devices[0].results[0].reason == "not run: the run's deadline (--run-timeout) passed");
}

TEST_CASE("bench: every micro-benchmark runs on the CPU backend and validates") {
  auto backend = cpu_backend();
  Runner runner(small_config(), host_memory(), PeakModel::load(), {0});
  std::vector<WorkloadEntry> micro;
  for (const auto& e : workload_registry())
    if (e.family != "hep" && !e.node_only) micro.push_back(e);  // storage runs on no device
  RunReport r = runner.run({bench_cpu(backend)}, micro);
  REQUIRE(r.devices.size() == 1);
  int ok = 0;
  for (const auto& res : r.devices[0].results) {
    INFO(res.workload << ": " << res.status << " " << res.reason);
    CHECK(res.status != "failed");
    if (res.status == "skipped") {
      CHECK_FALSE(res.reason.empty());
      CHECK((res.family == "transfer" || res.workload == "fma_fp16" || res.workload == "fma_bf16"));
      continue;
    }
    ++ok;
    CHECK(res.validated);
    CHECK(res.validation.passed);
    CHECK(*res.value() > 0);
    CHECK(res.stats.count == 3);
  }
  CHECK(ok == 10);  // 5 stream, fp64, fp32, int32, launch latency, memtest
  CHECK(r.node_results.empty());  // no GPU: no node figures
}

TEST_CASE("bench: validation catches a broken kernel") {
  auto backend = cpu_backend();
  BenchDevice d = bench_cpu(backend);
  d.device = std::make_shared<BrokenTriad>(d.device);
  Runner runner(small_config(), host_memory(), PeakModel::from_json(json::object()), {0});
  std::vector<WorkloadEntry> work;
  for (const auto& e : workload_registry())
    if (e.name == "stream_triad" || e.name == "stream_add") work.push_back(e);
  RunReport r = runner.run({d}, work);
  const auto& add = r.devices[0].results[0];
  const auto& triad = r.devices[0].results[1];
  CHECK(add.status == "ok");
  CHECK(triad.status == "failed");
  CHECK(triad.reason.rfind("validation failed in the warm-up: element ", 0) == 0);
  CHECK_FALSE(triad.value());
}

TEST_CASE("bench: the FMA reference's closed form matches stepping the chains") {
  for (const char* precision : {"fp64", "int32"}) {
    auto p = detail::fma_parameters(precision);
    for (std::uint64_t k : {0ull, 1ull, 7ull, 64ull, 1000ull}) {
      double stepped = 0;
      for (int ch = 0; ch < p.scalar_chains; ++ch) {
        if (std::string(precision) == "int32") {
          std::uint32_t x = kernels::fma_start_u32(3, 5, ch);
          for (std::uint64_t i = 0; i < k; ++i) x = x * kernels::fma_int_multiplier + kernels::fma_int_addend;
          stepped += x;
        } else {
          double x = kernels::fma_start(3, 5, ch);
          for (std::uint64_t i = 0; i < k; ++i) x = x * p.multiplier + p.addend;
          stepped += x;
        }
      }
      CHECK(detail::fma_reference(p, 3, 5, k) == doctest::Approx(stepped).epsilon(1e-13));
    }
  }
  CHECK(detail::relative_error(NAN, 1) == INFINITY);
  CHECK(detail::validation_ranges(100, 1).size() == 1);
  CHECK(detail::validation_ranges(10'000'000, 1).size() == 66);
}

TEST_CASE("bench: peaks from clocks, units and bus width, with flags") {
  PeakModel m = PeakModel::load();
  DeviceFacts h100;
  h100.kind = "gpu";
  h100.vendor = "nvidia";
  h100.cc = "9.0";
  h100.units = 132;
  h100.clock_mhz = 1980;
  h100.clock_source = "test";
  h100.memory_clock_mhz = 2619;
  h100.memory_bus_width_bits = 5120;
  h100.pcie_generation = 5;
  h100.pcie_width = 16;
  h100.catalogue = {{"memory_bandwidth_gbs", 3350}, {"peak_tflops", {{"fp64", 33.5}}}};
  auto bw = m.peak(h100, "stream_triad", 3000.0);
  CHECK(*bw.value == doctest::Approx(3352.32));
  CHECK(*bw.catalogue == 3350);
  CHECK(*bw.fraction == doctest::Approx(3000 / 3352.32));
  CHECK_FALSE(bw.flag);
  auto fp64 = m.peak(h100, "fma_fp64", 40.0);
  CHECK(*fp64.value == doctest::Approx(33.454).epsilon(1e-3));
  CHECK(*fp64.flag == "above_peak");
  CHECK(*m.peak(h100, "fma_fp16", std::nullopt).value == doctest::Approx(133.8).epsilon(1e-3));
  CHECK(*m.peak(h100, "stream_copy", 1000.0).flag == "implausibly_low");
  CHECK(*m.peak(h100, "h2d_pinned", std::nullopt).value == doctest::Approx(63.0).epsilon(1e-2));
  CHECK(*m.peak(h100, "bidir_pinned", std::nullopt).value == doctest::Approx(126.0).epsilon(1e-2));
  CHECK_FALSE(m.peak(h100, "launch_latency", 5.0).value);

  DeviceFacts mig = h100;
  mig.kind = "mig";
  mig.units = 16;
  mig.memory_share = 0.125;
  mig.unit_share = 16.0 / 132;
  CHECK(*m.peak(mig, "stream_triad", std::nullopt).value == doctest::Approx(3352.32 / 8));
  CHECK(*m.peak(mig, "fma_fp64", std::nullopt).value == doctest::Approx(33.454 * 16 / 132).epsilon(1e-3));

  DeviceFacts cpu;
  cpu.kind = "cpu";
  cpu.units = 2;
  cpu.clock_mhz = 2500;
  cpu.cpu_fp64_flops_per_cycle = 16;
  CHECK(*m.peak(cpu, "fma_fp64", std::nullopt).value == doctest::Approx(0.08));
  CHECK(*m.peak(cpu, "fma_fp32", std::nullopt).value == doctest::Approx(0.16));
  CHECK_FALSE(m.peak(cpu, "stream_triad", 10.0).value);
  // A HEP workload's peak is the FMA peak in its unit: above it is flagged
  // (the CPU model's clock can be below the boost clock), a few per cent is not low.
  PeakFigure hep;
  hep.value = 1e6;
  PeakModel::judge(hep, "mlp_infer_fp32", 1.19e6);
  CHECK(*hep.fraction == doctest::Approx(1.19));
  CHECK(*hep.flag == "above_peak");
  PeakFigure hep_low;
  hep_low.value = 1e6;
  PeakModel::judge(hep_low, "me_eemumu_fp64", 3e4);
  CHECK(*hep_low.fraction == doctest::Approx(0.03));
  CHECK_FALSE(hep_low.flag);

  DeviceFacts unknown;
  unknown.kind = "gpu";
  unknown.vendor = "nvidia";
  unknown.cc = "9.0";
  unknown.catalogue = {{"memory_bandwidth_gbs", 2000}};
  auto from_catalogue = m.peak(unknown, "stream_triad", std::nullopt);
  CHECK(*from_catalogue.value == 2000);
  CHECK(from_catalogue.source == "hardware catalogue (memory clock or bus width not probed)");
}

TEST_CASE("bench: device selection against gpuprobe's sections") {
  ScopedEnvironment count("GPUKIT_FAKE_GPU_COUNT", "1");
  RegistryOptions o;
  o.plugin_dirs = {test::fake("plugins/fakegpu")};
  auto reg = ComputeRegistry::open(o);
  REQUIRE(reg.ok());

  auto one = select_devices(load_fixture("node-fake-gpu.json"), *reg, {});
  REQUIRE(one.ok());
  REQUIRE(one->devices.size() == 2);
  CHECK(one->devices[0].id == "cpu");
  CHECK(one->devices[1].id == "GPU-f4ce0000-0000-4000-8000-000000000001");
  CHECK(one->devices[1].device);
  CHECK(one->devices[1].backend == "fakegpu");
  CHECK(one->devices[1].facts.pcie_generation == 4);

  auto by_index = select_devices(load_fixture("node-fake-gpu.json"), *reg, {{"0"}});
  REQUIRE(by_index.ok());
  REQUIRE(by_index->devices.size() == 1);
  CHECK(by_index->devices[0].device);

  auto missing = select_devices(load_fixture("node-fake-gpu.json"), *reg, {{"GPU-deadbeef"}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ExitCode::environment);
  CHECK(missing.error().what() ==
        "--device: GPU-deadbeef is not on this node (gpuprobe found 0=GPU-f4ce0000-0000-4000-8000-000000000001)");
  auto bad = select_devices(load_fixture("node-fake-gpu.json"), *reg, {{"warp9"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ExitCode::usage);

  // MIG: the instances are devices; the parent is not benchmarked whole.
  auto mig = select_devices(load_fixture("node-mig.json"), *reg, {{"gpu,0"}});
  REQUIRE(mig.ok());
  REQUIRE(mig->devices.size() == 3);
  CHECK(mig->devices[0].kind == "gpu");
  CHECK(mig->devices[0].unusable.rfind("MIG is enabled on this GPU", 0) == 0);
  CHECK(mig->devices[1].kind == "mig");
  CHECK(mig->devices[1].device);  // matched to the fake device by the UUID's bytes
  CHECK(mig->devices[1].facts.memory_share == doctest::Approx(0.5));
  CHECK(mig->devices[1].parent_uuid == "GPU-a1000000-0000-4000-8000-000000000000");
  CHECK_FALSE(mig->devices[2].device);
  REQUIRE(mig->warnings.size() == 1);

  // A GPU nothing can run: listed with the reason by default, an error when asked for.
  RegistryOptions none;
  none.plugin_dirs = {test::temp_dir()};
  auto empty = ComputeRegistry::open(none);
  REQUIRE(empty.ok());
  auto unbacked = select_devices(load_fixture("node-h100-unbacked.json"), *empty, {{"gpu"}});
  REQUIRE(unbacked.ok());
  REQUIRE(unbacked->devices.size() == 1);
  CHECK(unbacked->devices[0].unusable.rfind("no compute backend can run it: plugin gpukit-cuda.so: not installed", 0) == 0);
  CHECK(unbacked->devices[0].facts.units == 132);
  auto asked = select_devices(load_fixture("node-h100-unbacked.json"), *empty, {{"0"}});
  REQUIRE_FALSE(asked.ok());
  CHECK(asked.error().code == ExitCode::environment);
  CHECK(asked.error().message.find("(NVIDIA H100 80GB HBM3): no compute backend can run it") != std::string::npos);
}

TEST_CASE("bench: the section validates against its schema and renders as table and CSV") {
  auto backend = cpu_backend();
  RunConfig c = small_config();
  c.workloads = {"stream_triad", "fma_fp16", "h2d_pinned"};
  Runner runner(c, host_memory(), PeakModel::load(), {0});
  std::vector<WorkloadEntry> work;
  for (const auto& e : workload_registry())
    if (e.name == "stream_triad" || e.name == "fma_fp16" || e.name == "h2d_pinned") work.push_back(e);
  RunReport r = runner.run({bench_cpu(backend)}, work);
  ReportContext ctx;
  ctx.config = c;
  ctx.started_at = "2026-11-24T00:00:00Z";
  json section = bench_section(r, ctx);
  CHECK(test::validate_against(section, "bench.schema.json") == "");
  CHECK(section["status"] == "ok");
  CHECK(section["comparable"] == true);
  CHECK(section["scores"].is_null());  // score_bench_section fills it
  const json& triad = section["devices"][0]["results"][0];
  CHECK(triad["validation"]["passed"] == true);
  CHECK(triad["problem_size"]["arrays_counted"] == 3);
  std::string table = render_bench_table(section);
  CHECK(table.find("DEVICE") == 0);
  CHECK(table.find("stream_triad") != std::string::npos);
  CHECK(table.find("the CPU has no host-device link") != std::string::npos);
  std::string csv = render_bench_csv(section);
  CHECK(csv.rfind("device,kind,workload,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);

  // A failed result: the schema forbids a number with it.
  section["devices"][0]["results"][0]["status"] = "failed";
  CHECK(test::validate_against(section, "bench.schema.json") != "");
}

TEST_CASE("bench: option values are checked with the option named") {
  BenchOptions o;
  o.common.timeout_s = 30;
  auto ok = make_run_config(o);
  REQUIRE(ok.ok());
  CHECK(ok->workloads.size() == workload_registry().size());
  CHECK(ok->max_transfer_bytes == 1ull << 30);
  o.quick = true;
  CHECK(make_run_config(o)->repetitions == 3);
  o.quick = false;
  o.max_transfer = "12 parsecs";
  CHECK(make_run_config(o).error().context == "--max-transfer");
  o.max_transfer = "1GiB";
  o.memtest_fraction = 2;
  CHECK(make_run_config(o).error().what() == "--memtest-fraction: must be in (0, 0.95]");
  o.memtest_fraction = 0;
  o.workloads = {"stream", "warp"};
  auto bad = make_run_config(o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("unknown workload 'warp' (known: micro, hep, stream, fma, transfer", 0) == 0);
  o.workloads = {"transfer", "memtest"};
  CHECK(make_run_config(o)->workloads.size() == 10);
}

TEST_CASE("bench: progress is drawn only when enabled") {
  std::ostringstream on, off;
  {
    Progress p(on, true);
    p.update(1, 4, "stream_triad on cpu");
  }
  {
    Progress p(off, false);
    p.update(1, 4, "stream_triad on cpu");
  }
  CHECK(on.str().find("[######..................] 1/4 stream_triad on cpu") != std::string::npos);
  CHECK(off.str().empty());
}

TEST_CASE("bench: workload groups micro, hep and a HEP workload's name") {
  auto micro = select_workloads({"micro"});
  REQUIRE(micro.ok());
  CHECK(micro->size() == 21);
  auto hep = select_workloads({"hep"});
  REQUIRE(hep.ok());
  CHECK(*hep == std::vector<std::string>{"me_eemumu_fp64", "me_eemumu_fp32", "em_shower_fp64", "em_shower_fp32",
                                         "track_fit_fp64", "track_fit_fp32", "mlp_infer_fp32", "mlp_infer_fp16",
                                         "mlp_infer_bf16", "mlp_infer_blas_fp32", "mlp_infer_blas_fp16",
                                         "mlp_infer_blas_bf16"});
  // A workload's name takes its vendor-GEMM variant along; that variant alone by its own name.
  CHECK(*select_workloads({"mlp_infer"}) == std::vector<std::string>{"mlp_infer_fp32", "mlp_infer_fp16", "mlp_infer_bf16",
                                                                     "mlp_infer_blas_fp32", "mlp_infer_blas_fp16",
                                                                     "mlp_infer_blas_bf16"});
  CHECK(*select_workloads({"mlp_infer_blas"}) ==
        std::vector<std::string>{"mlp_infer_blas_fp32", "mlp_infer_blas_fp16", "mlp_infer_blas_bf16"});
  CHECK(select_workloads({"mlp"}).error().context == "--workload");
  BenchOptions o;
  o.workloads = {"hep"};
  o.repetitions = 4;
  CHECK(make_run_config(o).error().context == "--repetitions");
  o.workloads = {"micro"};
  CHECK(make_run_config(o).ok());  // the micro-benchmarks take any count
}

namespace {

json hep_row(const std::string& name, const std::string& precision, std::vector<double> values) {
  json r = {{"workload", name + "_" + precision}, {"family", "hep"}, {"precision", precision}, {"status", "ok"},
            {"value", values[values.size() / 2]}, {"details", {{"workload", name}}}, {"problem_size", {{"items", 10}}}};
  r["stats"] = {{"values", values}};
  return r;
}

}  // namespace

TEST_CASE("bench: scores of a bench section: per device, per node, by model, per core") {
  hep::Reference ref;
  ref.name = "unit";
  ref.file = "unit.json";
  ref.scaling = 10;
  ref.values["me_eemumu"] = {{"fp64", 100}, {"fp32", 400}};
  ref.values["track_fit"] = {{"fp64", 10}, {"fp32", 10}};
  json b = {{"generator", {{"tool", "gpubench"}, {"version", "9.9"}}}, {"config", {{"seed", 1}}}, {"quick", false}};
  json cpu = {{"id", "cpu"}, {"kind", "cpu"}, {"name", "CPU"}, {"backend", "cpu"}, {"environment", {{"cores", 4}}}};
  cpu["results"] = {hep_row("me_eemumu", "fp64", {100, 200, 300}), hep_row("me_eemumu", "fp32", {400, 800, 1200}),
                    hep_row("track_fit", "fp64", {10, 10, 10}), hep_row("track_fit", "fp32", {40, 40, 40})};
  json gpu = {{"id", "GPU-a"}, {"kind", "gpu"}, {"name", "Model X"}, {"backend", "cuda"}, {"environment", json::object()}};
  gpu["results"] = {hep_row("me_eemumu", "fp64", {1000, 1000, 1000}), hep_row("me_eemumu", "fp32", {4000, 4000, 4000}),
                    hep_row("track_fit", "fp64", {10, 10, 10})};  // track_fit incomplete: left out
  b["devices"] = {cpu, gpu};
  REQUIRE(score_bench_section(b, ref).ok());
  const json& s = b["scores"];
  // CPU: me_eemumu median of (1, 2, 3) = 2, track_fit sqrt(1 x 4) = 2: 2 x scaling 10.
  CHECK(b["devices"][0]["workload_scores"]["me_eemumu"].get<double>() == doctest::Approx(2));
  CHECK(b["devices"][0]["workload_scores"]["track_fit"].get<double>() == doctest::Approx(2));
  CHECK(b["devices"][0]["score"].get<double>() == doctest::Approx(20));
  CHECK(b["devices"][1]["workload_scores"].size() == 1);
  CHECK(b["devices"][1]["score"].get<double>() == doctest::Approx(100));
  CHECK(s["cpu_node"].get<double>() == doctest::Approx(20));
  CHECK(s["cpu_per_core"].get<double>() == doctest::Approx(5));
  CHECK(s["gpu_node"].get<double>() == doctest::Approx(100));
  CHECK(s["gpu_per_device"]["GPU-a"].get<double>() == doctest::Approx(100));
  CHECK(s["models"]["Model X"].get<double>() == doctest::Approx(100));
  CHECK(s["node"].get<double>() == doctest::Approx(120));
  CHECK(s["tool_version"] == "9.9");
  CHECK(s["reference"] == "unit");
  CHECK(b["devices"][0]["results"][1]["reference_ratio"].get<double>() == doctest::Approx(2));
  annotate_hep_results(b);
  CHECK(b["devices"][0]["results"][0]["fp64_fp32_ratio"].get<double>() == doctest::Approx(0.25));
  CHECK(b["devices"][1]["results"][0]["details"]["speedup_vs_cpu_node"].get<double>() == doctest::Approx(5));
  const std::string hash = s["config_hash"];
  b["config"]["seed"] = 2;  // the seed is not part of what was run
  REQUIRE(score_bench_section(b, ref).ok());
  CHECK(b["scores"]["config_hash"] == hash);
}
