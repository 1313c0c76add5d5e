#include <doctest/doctest.h>

#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/document.hpp"
#include "probe/cpu.hpp"
#include "probe/memory.hpp"
#include "test_support.hpp"

using namespace gpukit;

namespace {

class FixtureRoot {
 public:
  explicit FixtureRoot(const std::string& path) { setenv("GPUKIT_SYSFS_ROOT", path.c_str(), 1); }
  ~FixtureRoot() { unsetenv("GPUKIT_SYSFS_ROOT"); }
};

}  // namespace

TEST_CASE("memory: the 2-socket fixture, field by field") {
  FixtureRoot root(test::fixture("sysfs/cpu_2socket"));
  json cpu = probe_cpu_section();
  json mem = probe_memory_section(cpu);
  CHECK(test::validate_against(mem, "memory.schema.json") == "");
  CHECK(mem["generator"]["tool"] == "gpuprobe");
  CHECK(mem["source"] == "procfs");
  CHECK(mem["total_bytes"] == 32LL << 30);
  CHECK(mem["available_bytes"] == 30408704LL * 1024);
  CHECK(mem["swap_total_bytes"] == 2097148LL * 1024);
  CHECK(mem["hugepages"]["page_bytes"] == 2LL << 20);
  CHECK(mem["hugepages"]["total"] == 512);
  CHECK(mem["hugepages"]["free"] == 500);
  CHECK(mem["cgroup_limit_bytes"] == 16LL << 30);     // the job's memory.max, above the step's "max"
  CHECK(mem["memlock_limit_bytes"] == 8388608);
  CHECK(mem["memlock_max_bytes"].is_null());          // "unlimited"
  // min(32 GiB, 16 GiB) shared by min(16 CPUs, quota of 4).
  CHECK(mem["per_core_bytes"] == doctest::Approx(static_cast<double>(4LL << 30)));
  // Without a cpu section there is no share to compute.
  CHECK(probe_memory_section(json(nullptr))["per_core_bytes"].is_null());
}

TEST_CASE("memory: missing files give nulls, never fake zeros") {
  std::string dir = test::temp_dir();
  FixtureRoot root(dir);
  std::filesystem::create_directories(dir + "/proc/self");
  std::ofstream(dir + "/proc/meminfo") << "MemTotal:        1024 kB\n";
  std::ofstream(dir + "/proc/self/limits") << "Max locked memory         unlimited            unlimited            bytes\n";
  json mem = probe_memory_section(json{{"allowed", {{"count", 2}, {"usable_cpus", 2.0}}}});
  CHECK(test::validate_against(mem, "memory.schema.json") == "");
  CHECK(mem["total_bytes"] == 1024 * 1024);
  CHECK(mem["available_bytes"].is_null());
  CHECK(mem["swap_total_bytes"].is_null());
  CHECK(mem["hugepages"]["page_bytes"].is_null());
  CHECK(mem["cgroup_limit_bytes"].is_null());
  CHECK(mem["memlock_limit_bytes"].is_null());
  CHECK(mem["memlock_max_bytes"].is_null());
  CHECK(mem["per_core_bytes"] == doctest::Approx(512.0 * 1024));
}

TEST_CASE("memory: this machine's section is schema-valid and matches getrlimit") {
  unsetenv("GPUKIT_SYSFS_ROOT");
  json mem = probe_memory_section(probe_cpu_section());
  CHECK(test::validate_against(mem, "memory.schema.json") == "");
  CHECK(mem["total_bytes"].get<long long>() > 0);
  rlimit r{};
  REQUIRE(getrlimit(RLIMIT_MEMLOCK, &r) == 0);
  if (r.rlim_cur == RLIM_INFINITY) CHECK(mem["memlock_limit_bytes"].is_null());
  else CHECK(mem["memlock_limit_bytes"] == static_cast<long long>(r.rlim_cur));
  CHECK(mem["per_core_bytes"].get<double>() > 0);
}
