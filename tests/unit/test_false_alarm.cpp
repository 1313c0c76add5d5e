// gpubench's statistical validations against their false-alarm budget: the
// thresholds follow from the budget and the run's count of checks, and the
// whole CPU HEP suite passes on many seeds (a correct node must not fail).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "bench/hep/cpu_runner.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/track_fit.hpp"
#include "bench/hep/validation_stats.hpp"
#include "bench/report.hpp"
#include "bench/runner.hpp"
#include "compute/cpu/cpu_backend.hpp"
#include "core/stats.hpp"

using namespace gpukit;

namespace {

std::shared_ptr<Backend> cpu_backend() {
  auto b = make_cpu_backend();
  REQUIRE(b.ok());
  return std::shared_ptr<Backend>(std::move(*b));
}

BenchDevice bench_device(const std::shared_ptr<Backend>& backend, const std::string& id, const std::string& kind) {
  BenchDevice d;
  d.id = id;
  d.kind = kind;
  d.name = "test " + kind;
  d.backend = "cpu";
  d.device = backend->devices().front();
  d.facts.kind = kind;
  return d;
}

std::vector<WorkloadEntry> hep_entries() {
  std::vector<WorkloadEntry> hep;
  for (const auto& e : workload_registry())
    if (e.family == "hep") hep.push_back(e);
  return hep;
}

// One `gpubench -w hep --device cpu --quick --warmup 0 -r 1 --seed S` through
// the library: every HEP workload and precision validated once at the --quick
// sizes (the smallest a run has), no --quick time budget.
RunReport hep_suite(const std::shared_ptr<Backend>& backend, std::uint64_t seed) {
  RunConfig c;
  c.quick = true;
  c.quick_budget_s = 1e9;
  c.warmup = 0;
  c.repetitions = 1;
  c.seed = seed;
  c.workload_timeout_s = 300;
  auto host = HostMemory::open();
  REQUIRE(host.ok());
  Runner runner(c, *host, PeakModel::load(), {0});
  return runner.run({bench_device(backend, "cpu", "cpu")}, hep_entries());
}

void check_seeds(std::uint64_t first, std::uint64_t last) {
  auto backend = cpu_backend();
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    const RunReport r = hep_suite(backend, seed);
    CHECK(r.statistical_checks == 38);  // 2 x 8 (me_eemumu) + 2 x 11 (track_fit)
    REQUIRE(r.devices.size() == 1);
    int validated = 0;
    for (const auto& res : r.devices[0].results) {
      INFO("seed " << seed << ": " << res.workload << " " << res.status << " " << res.reason << " | "
                   << res.validation.method);
      if (res.workload.rfind("mlp_infer_blas_", 0) == 0) {
        CHECK(res.status == "skipped");  // GPUs only
        continue;
      }
      CHECK(res.status == "ok");
      CHECK(res.validation.passed);
      validated += res.status == "ok";
    }
    CHECK(validated == 9);
  }
}

}  // namespace

TEST_CASE("false alarms: each threshold follows from the run's budget and its count of checks") {
  // Bonferroni: the budget shared evenly; a two-sided normal quantile per check.
  const hep::StatisticalThresholds t = hep::thresholds_for_run(228);
  CHECK(hep::run_false_alarm_budget == 1e-6);
  CHECK(t.alpha == doctest::Approx(1e-6 / 228).epsilon(1e-12));
  CHECK(2 * normal_upper_tail(t.max_pull) == doctest::Approx(t.alpha).epsilon(1e-10));
  CHECK(t.max_pull == doctest::Approx(5.8689).epsilon(1e-4));
  CHECK(t.min_ks_p == t.alpha);
  CHECK(kolmogorov_survival(t.ks_lambda) == doctest::Approx(t.alpha).epsilon(1e-9));
  CHECK(hep::thresholds_for_run(0).checks == 1);
  CHECK(hep::thresholds_for_run(1).max_pull == doctest::Approx(4.891638475).epsilon(1e-9));

  // Reference values of the quantile functions (Abramowitz and Stegun 26.2;
  // the Kolmogorov distribution's classical critical values).
  CHECK(normal_upper_quantile(0.025) == doctest::Approx(1.959963984540054).epsilon(1e-14));
  CHECK(normal_upper_quantile(1e-9) == doctest::Approx(5.997807015007687).epsilon(1e-13));
  CHECK(normal_upper_quantile(0.975) == doctest::Approx(-1.959963984540054).epsilon(1e-14));
  CHECK(normal_upper_quantile(0.5) == doctest::Approx(0).scale(1));
  CHECK(normal_upper_tail(normal_upper_quantile(1e-300)) == doctest::Approx(1e-300).epsilon(1e-12));
  CHECK(std::isnan(normal_upper_quantile(0)));
  CHECK(std::isnan(normal_upper_quantile(1)));
  CHECK(kolmogorov_quantile(0.05) == doctest::Approx(1.3581).epsilon(1e-4));
  CHECK(kolmogorov_quantile(0.01) == doctest::Approx(1.6276).epsilon(1e-4));
  CHECK(kolmogorov_survival(0) == 1);
}

TEST_CASE("false alarms: a run counts every statistical check it can make") {
  auto backend = cpu_backend();
  RunConfig c;  // the defaults: 5 repetitions after 1 warm-up
  const std::vector<WorkloadEntry> all = workload_registry();
  // Per validated run: me_eemumu 8, track_fit 11, at two precisions each.
  CHECK(hep::hep_statistical_checks("me_eemumu") == hep::me_statistical_checks);
  CHECK(hep::me_statistical_checks == 8);
  CHECK(hep::hep_statistical_checks("track_fit") == 11);
  CHECK(hep::hep_statistical_checks("em_shower") == 0);
  CHECK(hep::hep_statistical_checks("mlp_infer") == 0);
  const BenchDevice cpu = bench_device(backend, "cpu", "cpu");
  CHECK(detail::planned_statistical_checks(c, {cpu}, all) == 6 * 38);
  // Two GPUs: each device alone, and each again in the all-at-once node run.
  const BenchDevice g0 = bench_device(backend, "GPU-0", "gpu"), g1 = bench_device(backend, "GPU-1", "gpu");
  CHECK(detail::planned_statistical_checks(c, {cpu, g0, g1}, all) == 6 * 38 * 5);
  c.node = false;
  CHECK(detail::planned_statistical_checks(c, {cpu, g0, g1}, all) == 6 * 38 * 3);
  // A device nothing can run makes no check; the micro-benchmarks make none.
  BenchDevice dead = g1;
  dead.unusable = "no backend";
  CHECK(detail::planned_statistical_checks(c, {cpu, dead}, all) == 6 * 38);
  std::vector<WorkloadEntry> micro;
  for (const auto& e : all)
    if (e.family != "hep") micro.push_back(e);
  CHECK(detail::planned_statistical_checks(c, {cpu, g0, g1}, micro) == 0);
}

TEST_CASE("false alarms: the bench section records the budget, the count and the thresholds") {
  RunReport run;
  run.statistical_checks = 228;
  ReportContext ctx;
  ctx.config.seed = 12345;
  const json b = bench_section(run, ctx);
  CHECK(b["config"]["seed"] == 12345);
  const json& v = b["validation"];
  CHECK(v["false_alarm_budget"] == 1e-6);
  CHECK(v["statistical_checks"] == 228);
  CHECK(v["alpha_per_check"].get<double>() == doctest::Approx(1e-6 / 228));
  CHECK(v["max_pull_sd"].get<double>() == doctest::Approx(hep::thresholds_for_run(228).max_pull));
  CHECK(v["min_ks_p"].get<double>() == doctest::Approx(1e-6 / 228));
}

// 20 seeds of the whole CPU HEP suite, in four test cases so that each stays
// well inside the unit tests' time limit and CTest can run them in parallel.
TEST_CASE("false alarms: the CPU HEP suite passes on seeds 1-5") { check_seeds(1, 5); }
TEST_CASE("false alarms: the CPU HEP suite passes on seeds 6-10") { check_seeds(6, 10); }
TEST_CASE("false alarms: the CPU HEP suite passes on seeds 11-15") { check_seeds(11, 15); }
TEST_CASE("false alarms: the CPU HEP suite passes on seeds 16-20") { check_seeds(16, 20); }
