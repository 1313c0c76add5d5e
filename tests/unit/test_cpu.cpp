#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "core/document.hpp"
#include "probe/cgroup.hpp"
#include "probe/cpu.hpp"
#include "test_support.hpp"

using namespace gpukit;

namespace {

// Points the /sys and /proc readers at a fixture tree for one test case.
class FixtureRoot {
 public:
  explicit FixtureRoot(const std::string& tree) { setenv("GPUKIT_SYSFS_ROOT", test::fixture("sysfs/" + tree).c_str(), 1); }
  ~FixtureRoot() { unsetenv("GPUKIT_SYSFS_ROOT"); }
};

}  // namespace

TEST_CASE("cpu: cpu lists format and parse") {
  CHECK(detail::format_cpu_list({}) == "");
  CHECK(detail::format_cpu_list({0}) == "0");
  CHECK(detail::format_cpu_list({0, 1, 2, 3, 8, 9, 10, 11}) == "0-3,8-11");
  CHECK(detail::format_cpu_list({0, 2, 4, 5}) == "0,2,4-5");
  CHECK(*detail::parse_cpu_list("0-3,8") == std::vector<int>{0, 1, 2, 3, 8});
  CHECK(*detail::parse_cpu_list("7, 5-6\n") == std::vector<int>{5, 6, 7});
  CHECK_FALSE(detail::parse_cpu_list("3-1").has_value());
  CHECK_FALSE(detail::parse_cpu_list("a").has_value());
  CHECK_FALSE(detail::parse_cpu_list("1,,2").has_value());
}

TEST_CASE("cpu: the 2-socket fixture, field by field") {
  FixtureRoot root("cpu_2socket");
  json cpu = probe_cpu_section();
  CHECK(test::validate_against(cpu, "cpu.schema.json") == "");
  CHECK(cpu["generator"]["tool"] == "gpuprobe");
  CHECK(cpu["source"] == "hwloc");
  CHECK(cpu["vendor"] == "GenuineIntel");
  CHECK(cpu["model"] == "Intel(R) Xeon(R) gpukit fixture CPU @ 2.80GHz");
  CHECK(cpu["sockets"] == 2);
  CHECK(cpu["cores"] == 8);
  CHECK(cpu["threads"] == 16);
  CHECK(cpu["max_clock_mhz"] == 3400.0);
  CHECK(cpu["caches"]["l1d_bytes"] == 48 * 1024);
  CHECK(cpu["caches"]["l2_bytes"] == 2048 * 1024);
  CHECK(cpu["caches"]["l3_bytes"] == 16 * 1024 * 1024);
  CHECK(cpu["caches"]["l3_total_bytes"] == 32 * 1024 * 1024);
  REQUIRE(cpu["numa_nodes"].size() == 2);
  CHECK(cpu["numa_nodes"][0]["index"] == 0);
  CHECK(cpu["numa_nodes"][0]["cpus"] == "0-3,8-11");
  CHECK(cpu["numa_nodes"][0]["memory_bytes"] == 16LL << 30);
  CHECK(cpu["numa_nodes"][1]["index"] == 1);
  CHECK(cpu["numa_nodes"][1]["cpus"] == "4-7,12-15");
  CHECK(cpu["isa"] == json::array({"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512cd", "avx512dq",
                                   "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni",
                                   "amx_tile", "amx_bf16", "amx_int8"}));
  // Under a fixture every PU counts as allowed; the job's cpu.max (4 CPUs, set one
  // level above the step's "max") caps what is usable.
  CHECK(cpu["allowed"]["cpus"] == "0-15");
  CHECK(cpu["allowed"]["count"] == 16);
  CHECK(cpu["allowed"]["cgroup_quota_cpus"] == 4.0);
  CHECK(cpu["allowed"]["usable_cpus"] == 4.0);
}

TEST_CASE("cpu: cgroup v1 quota and an unlimited quota") {
  std::string dir = test::temp_dir();
  auto put = [&](const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(dir + rel).parent_path());
    std::ofstream(dir + rel) << text;
  };
  setenv("GPUKIT_SYSFS_ROOT", dir.c_str(), 1);
  put("/proc/self/cgroup", "5:cpu,cpuacct:/batch/job7\n4:memory:/batch/job7\n");
  put("/sys/fs/cgroup/cpu,cpuacct/batch/job7/cpu.cfs_quota_us", "150000\n");
  put("/sys/fs/cgroup/cpu,cpuacct/batch/job7/cpu.cfs_period_us", "100000\n");
  put("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  put("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  put("/sys/fs/cgroup/memory/batch/job7/memory.limit_in_bytes", "9223372036854771712\n");
  CHECK(detail::cgroup_version() == 1);
  CHECK(detail::cgroup_path() == "/batch/job7");
  CHECK(detail::cgroup_cpu_quota() == doctest::Approx(1.5));
  CHECK_FALSE(detail::cgroup_memory_limit().has_value());  // v1's "no limit"

  put("/sys/fs/cgroup/cpu,cpuacct/batch/job7/cpu.cfs_quota_us", "-1\n");
  CHECK_FALSE(detail::cgroup_cpu_quota().has_value());
  put("/sys/fs/cgroup/memory/batch/job7/memory.limit_in_bytes", "4294967296\n");
  CHECK(detail::cgroup_memory_limit() == 4294967296LL);

  // v2, with the process's path missing from the mount (a container without its
  // own cgroup namespace): the mount's root is this process's cgroup.
  std::string v2 = test::temp_dir();
  setenv("GPUKIT_SYSFS_ROOT", v2.c_str(), 1);
  dir = v2;
  put("/proc/self/cgroup", "0::/host/path/not/here\n");
  put("/sys/fs/cgroup/cgroup.controllers", "cpu memory\n");
  put("/sys/fs/cgroup/cpu.max", "max 100000\n");
  put("/sys/fs/cgroup/memory.max", "max\n");
  CHECK(detail::cgroup_version() == 2);
  CHECK_FALSE(detail::cgroup_cpu_quota().has_value());
  CHECK_FALSE(detail::cgroup_memory_limit().has_value());
  put("/sys/fs/cgroup/cpu.max", "200000 100000\n");
  CHECK(detail::cgroup_cpu_quota() == doctest::Approx(2.0));

  std::string none = test::temp_dir();
  setenv("GPUKIT_SYSFS_ROOT", none.c_str(), 1);
  CHECK_FALSE(detail::cgroup_version().has_value());
  CHECK_FALSE(detail::cgroup_cpu_quota().has_value());
  unsetenv("GPUKIT_SYSFS_ROOT");
}

TEST_CASE("cpu: this machine's section is schema-valid and consistent") {
  unsetenv("GPUKIT_SYSFS_ROOT");
  json cpu = probe_cpu_section();
  CHECK(test::validate_against(cpu, "cpu.schema.json") == "");
  CHECK(cpu["cores"].get<int>() >= 1);
  CHECK(cpu["threads"].get<int>() >= cpu["cores"].get<int>());
  CHECK(cpu["sockets"].get<int>() >= 1);
  int count = cpu["allowed"]["count"].get<int>();
  CHECK(count >= 1);
  CHECK(count <= cpu["threads"].get<int>());
  auto listed = detail::parse_cpu_list(cpu["allowed"]["cpus"].get<std::string>());
  REQUIRE(listed.has_value());
  CHECK(static_cast<int>(listed->size()) == count);
  CHECK(cpu["allowed"]["usable_cpus"].get<double>() <= count);
}

TEST_CASE("cpu: the GPU fixture trees share the 2-socket machine") {
  json reference;
  {
    FixtureRoot root("cpu_2socket");
    reference = probe_cpu_section();
  }
  for (const char* tree : {"pci_no_driver", "amd_mi250x", "amd_mi300x"}) {
    CAPTURE(tree);
    FixtureRoot root(tree);
    json cpu = probe_cpu_section();
    CHECK(cpu["threads"] == 16);
    CHECK(cpu["numa_nodes"] == reference["numa_nodes"]);
    CHECK(cpu["allowed"] == reference["allowed"]);
  }
}
