#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "vendors/amd/amd.hpp"
#include "vendors/telemetry.hpp"

using namespace gpukit;

using gpukit::test::ScopedEnvironment;

namespace {
void use_machine(ScopedEnvironment& env, const std::optional<std::string>& machine) {
  env.set("GPUKIT_SYSFS_ROOT", test::fixture("sysfs/amd_mi250x"));
  env.set("HSA_XNACK", std::nullopt);
  if (machine) {
    env.set("GPUKIT_AMDSMI_LIBRARY", test::fake("amdsmi/libamd_smi.so"));
    env.set("GPUKIT_FAKE_MACHINE", *machine);
  } else {
    env.set("GPUKIT_AMDSMI_LIBRARY", test::temp_dir() + "/libamd_smi.so");  // nothing there
    env.set("GPUKIT_FAKE_MACHINE", std::nullopt);
  }
}

std::optional<std::string> reason(const DeviceSample& s, const std::string& field) {
  for (const auto& [name, why] : s.unavailable)
    if (name == field) return why;
  return std::nullopt;
}

using Clock = std::chrono::steady_clock;

// Waits until `t` seconds after `origin`, taken just after the fake's amdsmi_init:
// the fake's own clock is then at least `t` (late by a sleep's overshoot at most).
void wait_until(Clock::time_point origin, double t) {
  std::this_thread::sleep_until(origin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t)));
}

constexpr std::uint64_t GiB = 1ull << 30;

}  // namespace

TEST_CASE("amd telemetry: devices, readings over time, refusals, a failing GCD, processes") {
  ScopedEnvironment env;
  use_machine(env, test::fixture("machines/amd_telemetry.json"));
  std::vector<std::string> probed;
  for (const auto& g : probe_amd(5).gpus) probed.push_back(g.uuid);
  REQUIRE(probed == std::vector<std::string>{"GPU-4b8a9d0c12f3e501", "GPU-4b8a9d0c12f3e502"});

  auto opened = open_amd_telemetry(5);
  auto origin = Clock::now();
  REQUIRE(opened.ok());
  auto& source = **opened;
  CHECK(source.vendor() == "amd");
  CHECK(source.devices() == probed);
  const std::string gcd0 = probed[0], gcd1 = probed[1];

  // t ~ 0: GCD 0 ramps its power from 100 W at 500 W/s.
  auto s0 = source.sample(gcd0);
  REQUIRE(s0.ok());
  CHECK(s0->uuid == gcd0);
  REQUIRE(s0->power_w);
  CHECK(*s0->power_w >= 100);
  CHECK(*s0->power_w <= 130);
  REQUIRE(s0->energy_j);
  CHECK(*s0->energy_j >= 4999.99);  // the counter at init, in J (15.259 uJ units)
  CHECK(*s0->energy_j <= 5010);
  REQUIRE(s0->gpu_utilization_pct);
  CHECK(*s0->gpu_utilization_pct <= 20);
  CHECK(s0->memory_utilization_pct == 25);
  CHECK(s0->memory_used_bytes == 1 * GiB);
  CHECK(s0->memory_total_bytes == 68702699520ull);
  CHECK(s0->sm_clock_mhz == 1700);
  CHECK(s0->memory_clock_mhz == 1600);
  CHECK(s0->temperature_c == 45);  // edge, when the GPU has it
  CHECK(s0->ecc_corrected == 3u);
  CHECK(s0->ecc_uncorrected == 1u);
  CHECK_FALSE(s0->throttle_reasons);
  REQUIRE(reason(*s0, "throttle_reasons"));
  CHECK(reason(*s0, "throttle_reasons")->find("gpu_metrics") != std::string::npos);
  CHECK(s0->unavailable.size() == 1);

  // GCD 1 refuses some readings: fields listed with the call and status name.
  auto s1 = source.sample(gcd1);
  REQUIRE(s1.ok());
  CHECK(s1->power_w == doctest::Approx(90));  // the "current" member this time
  CHECK(s1->temperature_c == 50);             // no edge sensor: hotspot
  CHECK_FALSE(s1->memory_used_bytes);
  CHECK(reason(*s1, "memory_used_bytes") == "amdsmi_get_gpu_memory_usage: AMDSMI_STATUS_NOT_SUPPORTED");
  CHECK_FALSE(s1->ecc_corrected);
  CHECK(reason(*s1, "ecc_corrected") == "amdsmi_get_gpu_total_ecc_count: AMDSMI_STATUS_NO_PERM");
  CHECK(reason(*s1, "ecc_uncorrected") == "amdsmi_get_gpu_total_ecc_count: AMDSMI_STATUS_NO_PERM");

  // Processes: the current list; the cursor moves to the time of the call.
  std::uint64_t cursor = 0;
  auto p0 = source.processes(gcd0, cursor);
  REQUIRE(p0.ok());
  REQUIRE(p0->size() == 1);
  CHECK((*p0)[0].pid == 4101);
  CHECK((*p0)[0].uuid == gcd0);
  CHECK((*p0)[0].used_memory_bytes == 2 * GiB);
  CHECK_FALSE((*p0)[0].sm_utilization_pct);
  CHECK(cursor > 0);
  CHECK((*p0)[0].last_seen_us == cursor);

  // t = 0.45: full power; energy grew by the integral of the ramp (80 J) and 300 W since.
  wait_until(origin, 0.45);
  auto s2 = source.sample(gcd0);
  REQUIRE(s2.ok());
  CHECK(s2->power_w == doctest::Approx(300));
  CHECK(s2->gpu_utilization_pct == 90);
  REQUIRE(s2->energy_j);
  CHECK(*s2->energy_j >= 5000 + 80 + 300 * 0.05);
  CHECK(*s2->energy_j <= 5000 + 80 + 300 * 0.3);
  std::uint64_t before = cursor;
  auto p1 = source.processes(gcd0, cursor);
  REQUIRE(p1.ok());
  std::map<int, std::uint64_t> memory;
  for (const auto& p : *p1) memory[p.pid] = p.used_memory_bytes.value_or(0);
  CHECK(memory == std::map<int, std::uint64_t>{{4101, 2 * GiB}, {4102, GiB / 2}});
  CHECK(cursor > before);

  // t = 0.55: GCD 1's driver is gone. An error for it alone.
  wait_until(origin, 0.55);
  auto lost = source.sample(gcd1);
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error().code == ExitCode::environment);
  CHECK(lost.error().what().find(gcd1) != std::string::npos);
  CHECK(lost.error().what().find("AMDSMI_STATUS_DRIVER_NOT_LOADED") != std::string::npos);
  CHECK_FALSE(source.processes(gcd1, cursor).ok());
  CHECK(source.sample(gcd0).ok());

  // t = 0.65: GCD 0's counter restarted at 0.6 s (a driver reload): the consumer
  // sees it go down, and handles it.
  wait_until(origin, 0.65);
  auto s3 = source.sample(gcd0);
  REQUIRE(s3.ok());
  REQUIRE(s3->energy_j);
  CHECK(*s3->energy_j >= 300 * 0.05);
  CHECK(*s3->energy_j <= 300 * 0.3);
}

TEST_CASE("amd telemetry: errors when opening, and an unknown device") {
  ScopedEnvironment env;
  SUBCASE("no amd_smi") {
    use_machine(env, std::nullopt);
    auto source = open_amd_telemetry(5);
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().code == ExitCode::environment);
    CHECK(source.error().what().find("amd_smi cannot be opened: ") == 0);
  }
  SUBCASE("amdsmi_init refuses") {
    std::string path = test::temp_dir() + "/amd_init_error.json";
    std::ofstream(path) << R"({"amd": {"init_status": 18, "gpus": []}})";
    use_machine(env, path);
    auto source = open_amd_telemetry(5);
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().code == ExitCode::environment);
    CHECK(source.error().what().find("amdsmi_init: AMDSMI_STATUS_INIT_ERROR") != std::string::npos);
  }
  SUBCASE("a UUID it does not know") {
    use_machine(env, test::fixture("machines/amd_mi250x.json"));
    auto source = open_amd_telemetry(5);
    REQUIRE(source.ok());
    auto s = (*source)->sample("GPU-0000000000000000");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ExitCode::usage);
    // amd_mi250x.json describes no telemetry: only the VRAM size is read.
    auto bare = (*source)->sample("GPU-4b8a9d0c12f3e501");
    REQUIRE(bare.ok());
    CHECK(bare->memory_total_bytes == 68702699520ull);
    CHECK_FALSE(bare->power_w);
    CHECK(reason(*bare, "power_w") == "amdsmi_get_power_info: AMDSMI_STATUS_NOT_SUPPORTED");
    CHECK(reason(*bare, "energy_j") == "amdsmi_get_energy_count: AMDSMI_STATUS_NOT_SUPPORTED");
  }
  SUBCASE("a GPU on which every reading is refused is an error, not an empty sample") {
    std::string path = test::temp_dir() + "/amd_bare.json";
    std::ofstream(path) << R"({"amd": {"gpus": [{"bdf": "0000:c1:00.0"}, {"bdf": "0000:c6:00.0"}]}})";
    use_machine(env, path);
    auto source = open_amd_telemetry(5);
    REQUIRE(source.ok());
    auto none = (*source)->sample("GPU-4b8a9d0c12f3e501");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == ExitCode::environment);
    CHECK(none.error().what().find("amdsmi_get_power_info: AMDSMI_STATUS_NOT_SUPPORTED") != std::string::npos);
  }
}
