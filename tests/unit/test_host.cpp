#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "probe/host.hpp"
#include "test_support.hpp"

using namespace gpukit;

using gpukit::test::ScopedEnvironment;

namespace {

const char* const container_and_batch_vars[] = {
    "APPTAINER_CONTAINER", "SINGULARITY_CONTAINER", "KUBERNETES_SERVICE_HOST", "_CONDOR_JOB_AD",
    "_CONDOR_SCRATCH_DIR", "SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID"};

}  // namespace

TEST_CASE("host: the 2-socket fixture, field by field") {
  ScopedEnvironment env;
  for (const char* v : container_and_batch_vars) env.set(v, nullptr);
  env.set("GPUKIT_SYSFS_ROOT", test::fixture("sysfs/cpu_2socket").c_str());
  json host = probe_host_section();
  CHECK(test::validate_against(host, "host.schema.json") == "");
  CHECK(host["generator"]["tool"] == "gpuprobe");
  CHECK(host["hostname"] == "fixture-2socket");
  CHECK(host["kernel"] == "5.14.0-427.fixture.el9_4.x86_64");
  CHECK(host["os"]["id"] == "rocky");
  CHECK(host["os"]["version_id"] == "9.4");
  CHECK(host["os"]["pretty_name"] == "Rocky Linux 9.4 (Blue Onyx)");
  CHECK_FALSE(host["arch"].get<std::string>().empty());
  CHECK(host["container"]["runtime"].is_null());
  CHECK(host["container"]["cgroup_version"] == 2);
  CHECK(host["container"]["cgroup_path"] == "/system.slice/slurmstepd.scope/job_4242/step_0");
  CHECK(host["container"]["hints"] == json::array({"cgroup v2"}));
  CHECK(host["batch_system"].is_null());
  CHECK(host["probe_duration_s"] == 0);
}

TEST_CASE("host: container runtimes and batch systems") {
  ScopedEnvironment env;
  for (const char* v : container_and_batch_vars) env.set(v, nullptr);
  std::string root = test::temp_dir();
  env.set("GPUKIT_SYSFS_ROOT", root.c_str());

  json host = probe_host_section();
  CHECK(test::validate_against(host, "host.schema.json") == "");
  CHECK(host["container"]["runtime"].is_null());
  CHECK(host["container"]["cgroup_version"].is_null());
  CHECK(host["container"]["cgroup_path"].is_null());
  CHECK(host["os"]["id"].is_null());

  std::ofstream(root + "/.dockerenv");
  CHECK(probe_host_section()["container"]["runtime"] == "docker");
  std::filesystem::create_directories(root + "/run");
  std::ofstream(root + "/run/.containerenv");
  json both = probe_host_section()["container"];
  CHECK(both["runtime"] == "podman");
  CHECK(both["hints"] == json::array({"/run/.containerenv present", "/.dockerenv present"}));
  env.set("APPTAINER_CONTAINER", "/cvmfs/unpacked.cern.ch/el9");
  CHECK(probe_host_section()["container"]["runtime"] == "apptainer");
  std::filesystem::remove(root + "/.dockerenv");
  std::filesystem::remove(root + "/run/.containerenv");
  env.set("APPTAINER_CONTAINER", nullptr);
  env.set("KUBERNETES_SERVICE_HOST", "10.0.0.1");
  CHECK(probe_host_section()["container"]["runtime"] == "kubernetes");
  env.set("KUBERNETES_SERVICE_HOST", nullptr);
  std::filesystem::create_directories(root + "/.singularity.d");
  CHECK(probe_host_section()["container"]["runtime"] == "apptainer");

  std::filesystem::create_directories(root + "/sys/fs/cgroup/memory");
  std::filesystem::create_directories(root + "/proc/self");
  std::ofstream(root + "/proc/self/cgroup") << "12:cpuset:/\n4:memory:/htcondor/slot1_3\n0::/\n";
  json v1 = probe_host_section()["container"];
  CHECK(v1["cgroup_version"] == 1);
  CHECK(v1["cgroup_path"] == "/htcondor/slot1_3");

  env.set("LSB_JOBID", "77");
  CHECK(probe_host_section()["batch_system"] == "lsf");
  env.set("PBS_JOBID", "12.server");
  CHECK(probe_host_section()["batch_system"] == "pbs");
  env.set("SLURM_JOB_ID", "4242");
  CHECK(probe_host_section()["batch_system"] == "slurm");
  env.set("_CONDOR_SCRATCH_DIR", "/pool/dir_1");
  CHECK(probe_host_section()["batch_system"] == "htcondor");
}

TEST_CASE("host: this machine's section is schema-valid") {
  ScopedEnvironment env;
  env.set("GPUKIT_SYSFS_ROOT", nullptr);
  json host = probe_host_section();
  CHECK(test::validate_against(host, "host.schema.json") == "");
  CHECK_FALSE(host["hostname"].get<std::string>().empty());
  CHECK_FALSE(host["kernel"].get<std::string>().empty());
}
