#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>

#include "account/formats.hpp"
#include "account/gpu_usage.hpp"
#include "account/guarded_telemetry.hpp"
#include "account/held_devices.hpp"
#include "account/identity.hpp"
#include "account/proc_tree.hpp"
#include "account/record.hpp"
#include "account/voms_proxy.hpp"
#include "core/fsroot.hpp"
#include "test_support.hpp"

using namespace gpukit;

using gpukit::test::ScopedEnvironment;

namespace {

// A scripted device behind the real TelemetrySource interface: each call to
// sample() or processes() reads the script at the current time step.
struct Step {
  std::optional<double> util, power, energy;
  std::optional<std::uint64_t> memory;
  std::vector<ProcessSample> processes;
  bool lost = false;  // the GPU fell off the bus
  std::vector<std::pair<std::string, std::string>> unavailable;
  std::optional<DeviceEvents> events;  // empty: the interface's default (no kind reported)
  std::string events_error;
  std::optional<std::uint64_t> retired_pages, remapped_rows;
};

class ScriptedTelemetry : public TelemetrySource {
 public:
  std::map<std::string, std::vector<Step>> script;
  std::size_t step = 0;
  std::string vendor() const override { return "scripted"; }
  std::vector<std::string> devices() const override {
    std::vector<std::string> d;
    for (const auto& [uuid, steps] : script) d.push_back(uuid);
    return d;
  }
  Result<DeviceSample> sample(const std::string& uuid) override {
    const Step& s = script.at(uuid).at(step);
    if (s.lost) return environment_error("GPU is lost", "nvmlDeviceGetPowerUsage(" + uuid + ")");
    DeviceSample d;
    d.uuid = uuid;
    d.gpu_utilization_pct = s.util;
    d.power_w = s.power;
    d.energy_j = s.energy;
    d.memory_used_bytes = s.memory;
    d.unavailable = s.unavailable;
    d.retired_pages = s.retired_pages;
    d.remapped_rows = s.remapped_rows;
    return d;
  }
  Result<DeviceEvents> events(const std::string& uuid) override {
    const Step& s = script.at(uuid).at(step);
    if (!s.events_error.empty()) return environment_error(s.events_error, "nvmlEventSetWait_v2 (" + uuid + ")");
    if (!s.events) return TelemetrySource::events(uuid);
    return *s.events;
  }
  Result<std::vector<ProcessSample>> processes(const std::string& uuid, std::uint64_t& since_us) override {
    const Step& s = script.at(uuid).at(step);
    if (s.lost) return environment_error("GPU is lost", "nvmlDeviceGetComputeRunningProcesses(" + uuid + ")");
    std::vector<ProcessSample> out;
    for (auto p : s.processes) {
      p.uuid = uuid;
      p.last_seen_us = (step + 1) * 1000000;
      if (p.last_seen_us > since_us) out.push_back(p);
    }
    since_us = std::max<std::uint64_t>(since_us, (step + 1) * 1000000);
    return out;
  }
};

ProcessSample proc(int pid, std::optional<double> sm, std::optional<std::uint64_t> memory) {
  ProcessSample p;
  p.pid = pid;
  p.sm_utilization_pct = sm;
  p.used_memory_bytes = memory;
  return p;
}

HeldDevice gpu(const std::string& uuid) {
  HeldDevice d;
  d.uuid = uuid;
  d.model = "NVIDIA A100-SXM4-80GB";
  d.slice_basis = "gpu";
  return d;
}

// A device found through the job's processes, not given to it.
HeldDevice seen_gpu(const std::string& uuid) {
  HeldDevice d = gpu(uuid);
  d.assigned = false;
  return d;
}

// Runs every step of the script through poll_device and GpuUsage, one second apart.
GpuUsage run_script(ScriptedTelemetry& t, const std::string& uuid, HeldDevice device, const std::set<int>& job,
                    bool node = false) {
  GpuUsage usage(std::move(device), node);
  std::uint64_t cursor = 0;
  for (t.step = 0; t.step < t.script[uuid].size(); ++t.step)
    usage.add(poll_device(t, uuid, cursor, 100.0 + static_cast<double>(t.step)), job);
  return usage;
}
}  // namespace

TEST_CASE("account: /proc readings of one process and a tree (fixture)") {
  ScopedEnvironment root("GPUKIT_SYSFS_ROOT", test::fixture("account/root"));
  long tick = ::sysconf(_SC_CLK_TCK);
  REQUIRE(tick == 100);  // the fixture's times are written for 100 ticks a second
  auto p = read_process(4242);
  REQUIRE(p);
  CHECK(p->ppid == 1);
  CHECK(p->utime_s == doctest::Approx(2.8));  // utime + cutime
  CHECK(p->stime_s == doctest::Approx(0.7));
  CHECK(p->threads == 3);
  CHECK(p->vmem_kb == 102400);
  CHECK(p->rss_kb == 10240);  // smaps_rollup wins over the stat page count
  CHECK(*p->pss_kb == 6144);
  CHECK(*p->swap_kb == 512);
  CHECK(*p->read_bytes == 4096);
  CHECK_FALSE(read_process(999999));

  CHECK(process_children(4242) == std::vector<int>{4243});
  TreeReading t = read_tree(4242, true);
  CHECK(t.pids == std::vector<int>{4242, 4243});
  CHECK(t.processes == 2);
  CHECK(t.threads == 4);
  CHECK(t.utime_s == doctest::Approx(3.8));
  CHECK(t.rss_kb == 10240 + 4096);
  CHECK(t.swap_kb == 512 + 128);  // VmSwap of the child without smaps_rollup
  CHECK_FALSE(t.pss_complete);
  CHECK_FALSE(t.io_complete);
  CHECK(read_tree(4242, false).pids == std::vector<int>{4243});
}

TEST_CASE("account: cgroup v2 figures and whether the cgroup is the job's own (fixture)") {
  ScopedEnvironment root("GPUKIT_SYSFS_ROOT", test::fixture("account/root"));
  auto path = cgroup_of(4242);
  REQUIRE(path);
  CHECK(*path == "/job_77/step_0");
  auto c = read_cgroup(*path);
  REQUIRE(c);
  CHECK(*c->cpu_usage_s == doctest::Approx(4.5));
  CHECK(*c->cpu_system_s == doctest::Approx(0.5));
  CHECK(*c->memory_peak_bytes == 838860800ULL);
  CHECK(c->procs == std::vector<int>{4242, 4243});
  CHECK(cgroup_is_exclusive(*c, {4242, 4243}, {}));
  CHECK_FALSE(cgroup_is_exclusive(*c, {4242}, {}));
  CHECK(cgroup_is_exclusive(*c, {4242}, {4243}));
  CHECK_FALSE(read_cgroup("/no/such/group"));
}

TEST_CASE("account: a live tree with a child and a grandchild") {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::fork() == 0) {
      ::close(ready[0]);
      ::close(ready[1]);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[0]);
    char c = 1;
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  TreeReading t = read_tree(child, true);
  CHECK(t.processes == 2);
  CHECK(t.pids.front() == child);
  CHECK(t.rss_kb > 0);
  ::kill(child, SIGKILL);
  for (int grandchild : t.pids)
    if (grandchild != child) ::kill(grandchild, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

TEST_CASE("account: exclusive GPU: utilisation-weighted seconds, energy counter deltas, memory") {
  ScriptedTelemetry t;
  auto& s = t.script["GPU-a"];
  // 0 s baseline, then 4 one-second intervals; the job (pid 10) alone on the GPU.
  for (int i = 0; i <= 4; ++i) {
    Step st;
    st.util = i == 0 ? 0.0 : 50.0;
    st.power = 200;
    st.energy = 1000.0 + 150.0 * i;  // 150 J a second from the counter
    st.memory = (1ULL << 30) * static_cast<std::uint64_t>(i + 1);
    st.processes = {proc(10, std::nullopt, (1ULL << 30) * static_cast<std::uint64_t>(i))};
    s.push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", gpu("GPU-a"), {10});
  CHECK(u.attribution() == Attribution::exclusive);
  CHECK(u.available_s() == doctest::Approx(4));
  CHECK(u.count() == doctest::Approx(1));
  CHECK(*u.active_s() == doctest::Approx(2.0));  // 50 % of 4 s
  CHECK(*u.energy_j() == doctest::Approx(600));  // the counter, not 200 W x 4 s
  json j = u.to_json();
  CHECK(j["energy_source"] == "counter");
  CHECK(j["power_mean_w"].get<double>() == doctest::Approx(150));
  CHECK(j["power_max_w"].get<double>() == doctest::Approx(200));
  CHECK(j["memory_max_bytes"].get<std::uint64_t>() == 5ULL << 30);
  CHECK(j["utilization_mean_pct"].get<double>() == doctest::Approx(50));
  CHECK(j["utilization_max_pct"].get<double>() == doctest::Approx(50));
  CHECK(j["energy_estimated"] == false);
  CHECK(j["job_pids_seen"] == json::array({10}));
  CHECK(test::validate_against(json{{"gpus", json::array({j})}}, "account.schema.json").find("gpus") == std::string::npos);
}

TEST_CASE("account: the per-process cursor is used when the driver gives per-process utilisation") {
  ScriptedTelemetry t;
  auto& s = t.script["GPU-a"];
  for (int i = 0; i <= 2; ++i) {
    Step st;
    st.util = 100;  // the driver's latest period only
    st.energy = 10.0 * i;
    st.processes = {proc(10, 40.0, 1 << 20)};
    s.push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", gpu("GPU-a"), {10});
  CHECK(u.attribution() == Attribution::exclusive);
  CHECK(*u.active_s() == doctest::Approx(0.8));  // 40 % since the cursor, over 2 s
}

TEST_CASE("account: energy counter reset (driver reload) and power integration when there is no counter") {
  ScriptedTelemetry t;
  for (double e : {0.0, 100.0, 200.0, 50.0, 150.0}) {
    Step st;
    st.util = 100;
    st.energy = e;
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage reset = run_script(t, "GPU-a", gpu("GPU-a"), {});
  CHECK(*reset.energy_j() == doctest::Approx(100 + 100 + 50 + 100));
  CHECK(reset.counter_resets() == 1);

  ScriptedTelemetry p;
  for (double w : {100.0, 200.0, 200.0}) {
    Step st;
    st.power = w;
    p.script["GPU-b"].push_back(st);
  }
  GpuUsage power = run_script(p, "GPU-b", gpu("GPU-b"), {});
  CHECK(*power.energy_j() == doctest::Approx(150 + 200));  // trapezoids
  json j = power.to_json();
  CHECK(j["energy_source"] == "power");
  CHECK(j["energy_estimated"] == true);
  CHECK(j["active_s"].is_null());  // no utilisation at all: unknown, not 0
  CHECK(j["utilization_mean_pct"].is_null());
}

TEST_CASE("account: a GPU lost mid-run is a gap, sampling resumes and the counter covers the gap") {
  ScriptedTelemetry t;
  for (int i = 0; i <= 5; ++i) {
    Step st;
    st.util = 100;
    st.energy = 100.0 * i;
    st.lost = i == 2 || i == 3;
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", gpu("GPU-a"), {});
  CHECK(u.available_s() == doctest::Approx(5));
  CHECK(u.gap_s() == doctest::Approx(2));
  CHECK(*u.active_s() == doctest::Approx(3));  // known intervals only
  CHECK(*u.energy_j() == doctest::Approx(500));
  json j = u.to_json();
  REQUIRE(j["gaps"].size() == 1);  // consecutive failures make one gap
  CHECK(j["gaps"][0]["start_s"].get<double>() == doctest::Approx(1));
  CHECK(j["gaps"][0]["end_s"].get<double>() == doctest::Approx(3));
  CHECK(j["gaps"][0]["error"].get<std::string>().find("GPU is lost") != std::string::npos);
}

TEST_CASE("account: shared GPU with per-process utilisation is attributed by process") {
  ScriptedTelemetry t;
  for (int i = 0; i <= 2; ++i) {
    Step st;
    st.util = 80;
    st.energy = 300.0 * i;
    // The job (10) uses 30 % and 1 GiB, someone else (99) 50 % and 3 GiB.
    st.processes = {proc(10, 30.0, 1ULL << 30), proc(99, 50.0, 3ULL << 30)};
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", seen_gpu("GPU-a"), {10});
  CHECK(u.attribution() == Attribution::process);
  CHECK(*u.active_s() == doctest::Approx(0.6));   // 30 % x 2 s
  CHECK(u.count() == doctest::Approx(0.25));      // memory share
  CHECK(*u.energy_j() == doctest::Approx(150));   // 600 J x 0.25
  json j = u.to_json();
  CHECK(j["energy_estimated"] == true);
  CHECK(j["count_basis"] == "share");
  CHECK(j["memory_max_bytes"].get<std::uint64_t>() == 1ULL << 30);
  CHECK(j["other_processes_seen"] == 1);

  // The same device given to the job (a visible device): held whole, used in part.
  GpuUsage given = run_script(t, "GPU-a", gpu("GPU-a"), {10});
  CHECK(given.count() == doctest::Approx(1));
  CHECK(*given.active_s() == doctest::Approx(0.6));
  CHECK(*given.energy_j() == doctest::Approx(150));
  CHECK(given.to_json()["count_basis"] == "gpu");
}

TEST_CASE("account: shared GPU without per-process utilisation falls back to the device share") {
  ScriptedTelemetry t;
  for (int i = 0; i <= 2; ++i) {
    Step st;
    st.util = 80;
    st.processes = {proc(10, std::nullopt, 2ULL << 30), proc(99, std::nullopt, 2ULL << 30)};
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", seen_gpu("GPU-a"), {10});
  CHECK(u.attribution() == Attribution::device_share);
  CHECK(*u.active_s() == doctest::Approx(0.8));  // 80 % x 0.5 x 2 s
  CHECK(u.count() == doctest::Approx(0.5));
}

TEST_CASE("account: processes appearing and leaving change the method over time") {
  ScriptedTelemetry t;
  for (int i = 0; i <= 4; ++i) {
    Step st;
    st.util = 60;
    st.processes = {proc(10, 60.0, 1ULL << 30)};
    if (i == 2 || i == 3) st.processes.push_back(proc(99, 20.0, 1ULL << 30));
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", seen_gpu("GPU-a"), {10});
  json j = u.to_json();
  CHECK(j["attribution"] == "process");  // a tie between methods goes to the weaker
  CHECK(j["attribution_s"]["exclusive"].get<double>() == doctest::Approx(2));
  CHECK(j["attribution_s"]["process"].get<double>() == doctest::Approx(2));
  CHECK(u.count() == doctest::Approx(0.75));  // (1 + 1 + 0.5 + 0.5) / 4
}

TEST_CASE("account: MIG instance: slice count, and fields the driver lacks are null with the reason") {
  HeldDevice mig;
  mig.uuid = "MIG-1";
  mig.parent_uuid = "GPU-a";
  mig.model = "NVIDIA A100-SXM4-80GB";
  mig.profile = "1g.10gb";
  set_mig_slice(mig, 10.0e9, 80.0e9);
  CHECK(mig.slice == doctest::Approx(1.0 / 7));
  CHECK(mig.slice_basis == "mig_profile");
  HeldDevice odd = mig;
  odd.profile = "custom";
  set_mig_slice(odd, 20.0e9, 80.0e9);
  CHECK(odd.slice == doctest::Approx(0.25));
  CHECK(odd.slice_basis == "mig_memory");

  ScriptedTelemetry t;
  for (int i = 0; i <= 3; ++i) {
    Step st;
    st.memory = 5ULL << 30;
    st.processes = {proc(10, std::nullopt, 5ULL << 30)};
    st.unavailable = {{"gpu_utilization_pct", "not supported on MIG instances"}, {"energy_j", "device-level only"}};
    t.script["MIG-1"].push_back(st);
  }
  GpuUsage u = run_script(t, "MIG-1", mig, {10});
  json j = u.to_json();
  CHECK(j["kind"] == "mig");
  CHECK(j["count"].get<double>() == doctest::Approx(0.143));
  CHECK(j["active_s"].is_null());
  CHECK(j["energy_j"].is_null());
  CHECK(j["unavailable"]["gpu_utilization_pct"] == "not supported on MIG instances");
  CHECK(j["memory_max_bytes"].get<std::uint64_t>() == 5ULL << 30);

  // With utilisation on the instance, busy seconds are in physical-GPU units.
  ScriptedTelemetry busy;
  for (int i = 0; i <= 7; ++i) {
    Step st;
    st.util = 100;
    busy.script["MIG-1"].push_back(st);
  }
  GpuUsage b = run_script(busy, "MIG-1", mig, {});
  CHECK(*b.active_s() == doctest::Approx(1.0));  // 7 s at 100 % of 1/7 of a GPU
  CHECK(b.to_json()["utilization_mean_pct"].get<double>() == doctest::Approx(100));
}

TEST_CASE("account: a poll without per-process samples on a device that gives them means idle processes") {
  ScriptedTelemetry t;
  for (int i = 0; i <= 3; ++i) {
    Step st;
    st.util = 90;
    st.processes = {proc(10, i == 1 ? std::optional<double>(40.0) : std::nullopt, 1ULL << 30),
                    proc(99, i == 1 ? std::optional<double>(50.0) : std::nullopt, 1ULL << 30)};
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", seen_gpu("GPU-a"), {10});
  json j = u.to_json();
  CHECK_FALSE(j["attribution_s"].contains("device-share"));
  CHECK(j["attribution_s"]["process"].get<double>() == doctest::Approx(3));
  CHECK(*u.active_s() == doctest::Approx(0.4));  // 40 % in the one busy second, 0 after
}

TEST_CASE("account: node mode occupancy") {
  ScriptedTelemetry t;
  for (int i = 0; i <= 4; ++i) {
    Step st;
    st.util = i >= 3 ? 90.0 : 0.0;
    if (i >= 3) st.processes = {proc(500, 90.0, 1 << 20)};
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", gpu("GPU-a"), {}, true);
  CHECK(u.attribution() == Attribution::node);
  json j = u.to_json();
  CHECK(j["occupancy"].get<double>() == doctest::Approx(0.5));
  CHECK(*u.active_s() == doctest::Approx(1.8));
}

TEST_CASE("account: held devices from the visible section and the inventory") {
  json gpus = json::parse(R"([
    {"index": 0, "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-aaaa", "memory_bytes": 85899345920,
     "mig": {"mode": "enabled", "instances": [
       {"uuid": "MIG-1111", "profile": "3g.40gb", "memory_bytes": 42949672960, "multiprocessors": 42, "parent_uuid": "GPU-aaaa"}]}},
    {"index": 1, "name": "NVIDIA L4", "uuid": "GPU-bbbb", "memory_bytes": 24000000000, "mig": {"mode": "unsupported", "instances": []}}
  ])");
  json visible = json::parse(R"({"restricted": true, "problems": ["token 7 matched nothing"], "devices": [
    {"kind": "mig", "vendor": "nvidia", "uuid": "MIG-1111", "gpu_index": 0, "parent_uuid": "GPU-aaaa", "selected_by": "MIG-1111"},
    {"kind": "gpu", "vendor": "nvidia", "uuid": "GPU-bbbb", "gpu_index": 1, "selected_by": "1"}]})");
  HeldDevices h = resolve_held_devices(gpus, visible);
  CHECK(h.restricted);
  REQUIRE(h.devices.size() == 2);
  CHECK(h.devices[0].mig);
  CHECK(h.devices[0].parent_uuid == "GPU-aaaa");
  CHECK(h.devices[0].slice == doctest::Approx(3.0 / 7));
  CHECK(h.devices[0].model == "NVIDIA A100-SXM4-80GB");
  CHECK(h.devices[1].model == "NVIDIA L4");
  CHECK(h.devices[1].selected_by == "1");
  REQUIRE(h.problems.size() == 1);
  CHECK(h.problems[0].find("token 7") != std::string::npos);

  CHECK(resolve_held_devices(gpus, json{{"restricted", false}, {"devices", json::array()}}).devices.empty());
  HeldDevice unknown = describe_device(gpus, "GPU-zzzz");
  CHECK(unknown.model == "unknown");
  CHECK(describe_device(gpus, "MIG-9999").mig);
}

TEST_CASE("account: identity from options, HTCondor ads, Slurm and PBS") {
  std::map<std::string, std::string> condor = {{"_CONDOR_JOB_AD", test::fixture("account/condor/job.ad")},
                                               {"_CONDOR_MACHINE_AD", test::fixture("account/condor/machine.ad")}};
  JobIdentity c = resolve_identity({}, condor, 2);
  CHECK(c.batch_system == "htcondor");
  CHECK(*c.job_id == "ce01.example.org#1234.5#1732000000");
  CHECK(*c.user == "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=pilot \"robot\"");
  CHECK(*c.fqan == "/atlas/Role=production/Capability=NULL");
  CHECK(c.sources["fqan"] == "job ad x509UserProxyFirstFQAN");
  CHECK(c.user_kind == "dn");
  CHECK(*c.site == "CERN-PROD");
  CHECK(*c.cores == 8);
  CHECK(c.sources["cores"] == "job ad RequestCpus");

  IdentityOptions o;
  o.site = "MY-SITE";
  o.cores = 4;
  JobIdentity over = resolve_identity(o, condor, 2);
  CHECK(*over.site == "MY-SITE");
  CHECK(*over.cores == 4);
  CHECK(over.sources["site"] == "--site");

  JobIdentity s = resolve_identity({}, {{"SLURM_JOB_ID", "77"}, {"SLURM_JOB_USER", "alice"}, {"SLURM_CPUS_ON_NODE", "16"}}, 2);
  CHECK(s.batch_system == "slurm");
  CHECK(*s.job_id == "77");
  CHECK(*s.user == "alice");
  CHECK(s.user_kind == "local");  // a local name, not a DN
  CHECK(s.sources["user"] == "SLURM_JOB_USER");
  CHECK_FALSE(s.fqan);
  CHECK(*s.cores == 16);
  JobIdentity array = resolve_identity({}, {{"SLURM_JOB_ID", "80"}, {"SLURM_ARRAY_JOB_ID", "77"}, {"SLURM_ARRAY_TASK_ID", "3"}}, 2);
  CHECK(*array.job_id == "77_3");

  JobIdentity p = resolve_identity({}, {{"PBS_JOBID", "123.pbs01"}, {"PBS_O_LOGNAME", "bob"}, {"NCPUS", "4"}}, 2);
  CHECK(p.batch_system == "pbs");
  CHECK(*p.job_id == "123.pbs01");
  CHECK(*p.cores == 4);

  JobIdentity none = resolve_identity({}, {}, 6);
  CHECK(none.batch_system.empty());
  CHECK_FALSE(none.job_id);
  CHECK(*none.cores == 6);
  CHECK(none.sources["cores"] == "affinity");
}

TEST_CASE("account: a VOMS proxy names its owner's DN and FQANs") {
  std::string dir = test::temp_dir();
  std::string path = test::make_voms_proxy(dir, "/DC=org/DC=example/OU=Users/CN=Jane Doe",
                                           {"/atlas/Role=production/Capability=NULL", "/atlas/Role=NULL/Capability=NULL"});
  if (path.empty()) {
    MESSAGE("skipped: openssl is not installed (it makes the test proxy)");
    return;
  }
  auto pem = read_text_file(path);
  REQUIRE(pem);
  auto id = parse_proxy_pem(*pem);
  REQUIRE(id.ok());
  CHECK(*id->subject == "/DC=org/DC=example/OU=Users/CN=Jane Doe");  // the end-entity certificate's subject
  CHECK(id->fqans == std::vector<std::string>{"/atlas/Role=production/Capability=NULL", "/atlas/Role=NULL/Capability=NULL"});

  // Only the proxy in the file: its subject less the proxy's CN.
  std::string alone = test::make_voms_proxy(test::temp_dir(), "/DC=org/DC=example/CN=Jane Doe", {"/cms"}, false);
  auto a = parse_proxy_pem(*read_text_file(alone));
  REQUIRE(a.ok());
  CHECK(*a->subject == "/DC=org/DC=example/CN=Jane Doe");
  CHECK(a->fqans == std::vector<std::string>{"/cms"});

  // A plain proxy without VOMS attributes names the owner and no FQAN.
  auto plain = parse_proxy_pem(*read_text_file(test::make_voms_proxy(test::temp_dir(), "/CN=Bob", {})));
  REQUIRE(plain.ok());
  CHECK(*plain->subject == "/CN=Bob");
  CHECK(plain->fqans.empty());

  CHECK(parse_proxy_pem("").error().message == "holds no PEM certificate");
  CHECK_FALSE(parse_proxy_pem("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n").ok());
  // Every truncation of the certificate is refused or read, never read past.
  std::string text = *pem;
  auto body = text.find('\n') + 1, end = text.find("-----END");
  for (std::size_t cut = body; cut < end; cut += 7) {
    std::string truncated = text.substr(0, cut) + "\n" + text.substr(end);
    auto r = parse_proxy_pem(truncated);
    if (r.ok()) CHECK(r->subject.has_value());
  }
}

TEST_CASE("account: the FQAN from each identity source, in order, and the DN preferred to a local name") {
  std::string dir = test::temp_dir();
  std::string proxy = test::make_voms_proxy(dir, "/DC=org/DC=example/CN=Jane Doe", {"/cms/Role=pilot/Capability=NULL"});
  std::map<std::string, std::string> slurm = {{"SLURM_JOB_ID", "77"}, {"SLURM_JOB_USER", "alice"}};
  IdentityOptions no_site_file;
  no_site_file.site_file = dir + "/absent-site.json";  // a named file that is not there is said
  JobIdentity none = resolve_identity(no_site_file, slurm, 2);
  CHECK_FALSE(none.fqan);
  REQUIRE(none.problems.size() == 1);
  CHECK(none.problems[0].find("absent-site.json is unreadable") != std::string::npos);

  IdentityOptions flag;
  flag.fqan = "/atlas/Role=pilot";
  flag.vo = "dteam";
  JobIdentity f = resolve_identity(flag, slurm, 2);
  CHECK(*f.fqan == "/atlas/Role=pilot");
  CHECK(f.sources["fqan"] == "--fqan");

  std::ofstream(dir + "/vo.ad") << "ClusterId = 9\nProcId = 0\nOwner = \"cmsprd\"\nx509UserProxyVOName = \"cms\"\n";
  JobIdentity ad = resolve_identity({}, {{"_CONDOR_JOB_AD", dir + "/vo.ad"}}, 2);
  CHECK(*ad.fqan == "/cms");
  CHECK(ad.sources["fqan"] == "job ad x509UserProxyVOName");
  CHECK(*ad.user == "cmsprd");
  CHECK(ad.user_kind == "local");

  IdentityOptions site_vo;
  site_vo.vo = "dteam";
  JobIdentity vo = resolve_identity(site_vo, slurm, 2);
  CHECK(*vo.fqan == "/dteam");
  CHECK(vo.sources["fqan"] == "--vo");

  std::ofstream(dir + "/site.json") << R"({"site": "UKI-EXAMPLE", "vo": "lhcb", "comment": "kept for people"})";
  IdentityOptions file;
  file.site_file = dir + "/site.json";
  JobIdentity sf = resolve_identity(file, slurm, 2);
  CHECK(*sf.fqan == "/lhcb");
  CHECK(*sf.site == "UKI-EXAMPLE");
  CHECK(sf.sources["fqan"] == "site file " + dir + "/site.json");
  CHECK(sf.problems.empty());
  std::ofstream(dir + "/bad.json") << R"({"vo": 3})";
  file.site_file = dir + "/bad.json";
  JobIdentity bad = resolve_identity(file, slurm, 2);
  CHECK_FALSE(bad.fqan);
  REQUIRE(bad.problems.size() == 1);
  CHECK(bad.problems[0] == "site file " + dir + "/bad.json: .vo is not a non-empty string; ignored");

  if (proxy.empty()) {
    MESSAGE("skipped the proxy cases: openssl is not installed (it makes the test proxy)");
    return;
  }
  auto with_proxy = slurm;
  with_proxy["X509_USER_PROXY"] = proxy;
  JobIdentity p = resolve_identity(site_vo, with_proxy, 2);  // the proxy before the site default
  CHECK(*p.fqan == "/cms/Role=pilot/Capability=NULL");
  CHECK(p.sources["fqan"] == "proxy " + proxy + " VOMS AC");
  CHECK(*p.user == "/DC=org/DC=example/CN=Jane Doe");  // preferred to SLURM_JOB_USER
  CHECK(p.user_kind == "dn");
  // The default place, for the job's uid, when X509_USER_PROXY is unset.
  with_proxy["X509_USER_PROXY"] = dir + "/no-such-proxy";
  JobIdentity gone = resolve_identity({}, with_proxy, 2);
  CHECK_FALSE(gone.fqan);
  CHECK(gone.user_kind == "local");
  REQUIRE(gone.problems.size() == 1);
  CHECK(gone.problems[0] == "proxy " + dir + "/no-such-proxy (X509_USER_PROXY) is unreadable");
}

TEST_CASE("account: benchmark scores and normalised score-hours") {
  auto bad = parse_benchmark_scores(json::parse(R"({"benchmark_type": "x", "models": {"A": -1}})"), "scores.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().what() == "scores.json: models.A: must be a positive number");
  CHECK(parse_benchmark_scores(json::parse(R"({"cpu_per_core": 3})"), "s").error().what() ==
        "s: benchmark_type: must be a string (the benchmark's name)");
  CHECK(parse_benchmark_scores(json::parse(R"({"benchmark_type": "x", "cpu_per_core": null, "models": {}})"), "s")
            .error()
            .what() == "s: has no score (gpu_per_device, models and cpu_per_core are all empty or null)");
  CHECK(parse_benchmark_scores(json::parse(R"({"benchmark_type": "x", "gpu_per_device": []})"), "s").error().what() ==
        "s: gpu_per_device: must be an object of name: score");
  CHECK_FALSE(parse_benchmark_scores(json::array(), "s").ok());
  CHECK_FALSE(parse_benchmark_scores(json::object(), "s").ok());

  // The device's own score wins over its model's; a MIG instance takes its GPU's.
  auto by_uuid = parse_benchmark_scores(json::parse(R"({"benchmark_type": "gpukit-hep/0.1",
    "gpu_per_device": {"GPU-a": 42, "GPU-p": 7}, "models": {"M": 40}, "cpu_per_core": null})"), "s");
  REQUIRE(by_uuid.ok());
  CHECK(*by_uuid->gpu_score_for("GPU-a", "", "M") == 42);
  CHECK(*by_uuid->gpu_score_for("MIG-x", "GPU-p", "M") == 7);
  CHECK(*by_uuid->gpu_score_for("GPU-b", "", "M") == 40);
  CHECK_FALSE(by_uuid->gpu_score_for("GPU-b", "", "other"));
  CHECK_FALSE(by_uuid->cpu_score_per_core);

  auto scores = parse_benchmark_scores(json::parse(R"({"benchmark_type": "gpukit-hep/0.1",
    "gpu_per_device": {"GPU-other": 10}, "models": {"NVIDIA A100-SXM4-80GB": 40}, "cpu_per_core": 15})"), "scores.json");
  REQUIRE(scores.ok());

  ScriptedTelemetry t;
  for (int i = 0; i <= 1800; i += 1800) {
    Step st;
    st.util = 100;
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage u(gpu("GPU-a"), false);
  std::uint64_t cursor = 0;
  t.step = 0;
  u.add(poll_device(t, "GPU-a", cursor, 0), {});
  t.step = 1;
  u.add(poll_device(t, "GPU-a", cursor, 1800), {});  // half an hour held
  AccountMeta meta;
  meta.mode = "wrap";
  meta.status = "complete";
  meta.wall_s = 1800;
  meta.interval_s = 1;
  JobIdentity id;
  id.cores = 8;
  json a = account_section(meta, id, CpuUsage{}, std::nullopt, {u}, *scores);
  CHECK(a["normalised"]["gpu"]["score_hours"].get<double>() == doctest::Approx(0.5 * 1 * 40));
  CHECK(a["normalised"]["cpu"]["score_hours"].get<double>() == doctest::Approx(0.5 * 8 * 15));
  CHECK(a["total"]["available_s"].get<double>() == doctest::Approx(1800));
  CHECK(a["total"]["active_s"].get<double>() == doctest::Approx(1800));
  CHECK(a["short_job"] == false);
  CHECK(test::validate_against(a, "account.schema.json") == "");
}

namespace {

json apel_account(int models) {
  json a = {{"mode", "wrap"},
            {"start_time", "2026-10-31T23:00:00Z"},
            {"end_time", "2026-11-01T01:00:00Z"},
            {"identity",
             {{"site", "CERN-PROD"}, {"job_id", "ce01#1.0#17"}, {"user", nullptr}, {"fqan", "/atlas"}, {"cores", 8}}},
            {"gpus", json::array()},
            {"normalised", nullptr}};
  for (int i = 0; i < models; ++i) {
    a["gpus"].push_back({{"uuid", "MIG-" + std::to_string(i)}, {"kind", "mig"}, {"model", "model-" + std::to_string(i)},
                         {"count", 0.143}, {"available_s", 7200.0}, {"active_s", 514.8}});
  }
  return a;
}

// The test schema lives with the fixtures; validate_against resolves names
// under share/gpukit/schema.
const char* apel_schema = "../../../tests/fixtures/account/apel-accelerator-message.schema.json";

}  // namespace

TEST_CASE("account: APEL accelerator records follow the specification") {
  json a = apel_account(1);
  a["gpus"].push_back({{"uuid", "MIG-x"}, {"kind", "mig"}, {"model", "model-0"}, {"count", 0.286},
                       {"available_s", 3600.0}, {"active_s", nullptr}});
  auto records = apel_records(a);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 1);  // one record per model
  const json& r = (*records)[0];
  CHECK(r["MeasurementMonth"] == 11);  // the month the job ended
  CHECK(r["MeasurementYear"] == 2026);
  CHECK(r["AssociatedRecordType"] == "job");
  CHECK(r["AssociatedRecord"] == "ce01#1.0#17");
  CHECK(r["FQAN"] == "/atlas");
  CHECK(r["GlobalUserName"].is_null());
  CHECK(r["Count"].get<double>() == doctest::Approx(0.429));
  CHECK(r["AvailableDuration"] == 4800);  // (7200 x 0.143 + 3600 x 0.286) / 0.429
  CHECK(r["ActiveDuration"].is_null());   // one instance's activity is unknown
  CHECK(r["Cores"] == 8);
  CHECK(r["Type"] == "GPU");
  CHECK(r["Model"] == "model-0");
  std::vector<std::string> keys;
  for (const auto& [k, v] : r.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"MeasurementMonth", "MeasurementYear", "AssociatedRecordType", "AssociatedRecord",
                                         "GlobalUserName", "FQAN", "SiteName", "Count", "Cores", "ActiveDuration",
                                         "AvailableDuration", "BenchmarkType", "Benchmark", "Type", "Model"});
  auto messages = apel_messages(*records);
  REQUIRE(messages.size() == 1);
  CHECK(test::validate_against(messages[0], apel_schema) == "");

  auto one = apel_records(apel_account(1));
  CHECK((*one)[0]["ActiveDuration"] == 3600);  // 514.8 / 0.143: per unit of Count

  json no_site = apel_account(1);
  no_site["identity"]["site"] = nullptr;
  CHECK(apel_records(no_site).error().what() == "SiteName: the site is unknown: give --site or set \"site\" in the site file");
  json no_job = apel_account(1);
  no_job["identity"]["job_id"] = nullptr;
  CHECK(apel_records(no_job).error().context == "AssociatedRecord");
  CHECK(apel_records(apel_account(0)).error().what().find("held no GPU") != std::string::npos);
}

TEST_CASE("account: no APEL record that APEL's loader would reject") {
  json no_fqan = apel_account(1);
  no_fqan["identity"]["fqan"] = nullptr;
  auto r = apel_records(no_fqan);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().context == "FQAN");
  CHECK(r.error().message.find("APEL rejects a record without one") != std::string::npos);
  for (const char* null_like : {"None", "NULL", " none "}) {
    json a = apel_account(1);
    a["identity"]["fqan"] = null_like;
    CHECK(apel_records(a).error().what().find("FQAN: \"" + std::string(null_like) + "\" is what APEL's loader reads as NULL") == 0);
    a = apel_account(1);
    a["identity"]["site"] = null_like;
    CHECK(apel_records(a).error().context == "SiteName");
  }
  // A local user name is not a GlobalUserName; a DN is.
  json local = apel_account(1);
  local["identity"]["user"] = "alice";
  local["identity"]["user_kind"] = "local";
  CHECK((*apel_records(local))[0]["GlobalUserName"].is_null());
  local["identity"]["user"] = "/DC=org/CN=Alice";
  local["identity"]["user_kind"] = "dn";
  CHECK((*apel_records(local))[0]["GlobalUserName"] == "/DC=org/CN=Alice");

  // The schema says what the loader enforces: a message with FQAN "None" or
  // null, or a mandatory field missing, does not validate.
  json message = apel_messages(*apel_records(apel_account(1)))[0];
  CHECK(test::validate_against(message, apel_schema) == "");
  for (const json& bad : {json("None"), json("null"), json(""), json(nullptr)}) {
    json m = message;
    m["UsageRecords"][0]["FQAN"] = bad;
    CHECK(test::validate_against(m, apel_schema) != "");
  }
  json m = message;
  m["UsageRecords"][0]["SiteName"] = "NONE";
  CHECK(test::validate_against(m, apel_schema) != "");
  m = message;
  m["UsageRecords"][0].erase("AvailableDuration");
  CHECK(test::validate_against(m, apel_schema) != "");
  m = message;
  m["UsageRecords"][0]["AvailableDuration"] = "3600";  // a string where APEL's int field is
  CHECK(test::validate_against(m, apel_schema) != "");
  m = message;
  m["UsageRecords"][0]["GlobalUserName"] = "None";  // optional: the loader stores NULL
  CHECK(test::validate_against(m, apel_schema) == "");
}

TEST_CASE("account: APEL messages carry at most 1000 records") {
  auto records = apel_records(apel_account(2500));
  REQUIRE(records.ok());
  auto messages = apel_messages(*records);
  REQUIRE(messages.size() == 3);
  CHECK(messages[0]["UsageRecords"].size() == 1000);
  CHECK(messages[2]["UsageRecords"].size() == 500);
  for (const auto& m : messages) CHECK(test::validate_against(m, apel_schema) == "");
  json too_many = messages[0];
  too_many["UsageRecords"].push_back(too_many["UsageRecords"][0]);
  CHECK(test::validate_against(too_many, apel_schema) != "");  // the test schema can fail
}

TEST_CASE("account: node_exporter textfile") {
  json a = apel_account(1);
  a["mode"] = "wrap";
  a["wall_s"] = 12.5;
  a["cpu"] = {{"utime_s", 10.0}, {"stime_s", 1.5}, {"max_rss_bytes", 1024}};
  a["gpus"][0]["parent_uuid"] = "GPU-p";
  a["gpus"][0]["energy_j"] = nullptr;
  a["gpus"][0]["utilization_mean_pct"] = 50.0;
  a["identity"]["job_id"] = "job \"7\"";
  std::string text = render_prometheus(a);
  CHECK(text.find("# TYPE gpukit_job_cpu_seconds_total counter\n") != std::string::npos);
  // The VO label is the FQAN's first group ("/atlas" -> atlas).
  CHECK(text.find("gpukit_job_cpu_seconds_total{job_id=\"job \\\"7\\\"\",vo=\"atlas\",mode=\"user\"} 10\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_active_seconds_total{job_id=\"job \\\"7\\\"\",vo=\"atlas\",uuid=\"GPU-p\",mig_instance=\"MIG-0\",model=\"model-0\"} 514.8\n") !=
        std::string::npos);
  CHECK(text.find("gpukit_gpu_utilization_ratio{") != std::string::npos);
  CHECK(text.find(" 0.5\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_energy_joules_total") == std::string::npos);  // unknown: no sample, not 0
}

namespace {

DeviceEvent xid_event(std::uint64_t xid, double t) {
  DeviceEvent e;
  e.kind = DeviceEvent::Kind::xid;
  e.xid = xid;
  e.time_s = t;
  e.unix_time_s = 1764806400 + t;  // 2025-12-04T00:00:00Z + t
  return e;
}

DeviceEvent ecc_event(DeviceEvent::Kind kind, double t) {
  DeviceEvent e;
  e.kind = kind;
  e.time_s = t;
  return e;
}

}  // namespace

TEST_CASE("account: error events are counted per kind, with the Xids seen and when, and retirement as growth") {
  ScriptedTelemetry t;
  Step quiet;
  quiet.events = DeviceEvents{};
  quiet.retired_pages = 3;
  quiet.remapped_rows = 0;
  Step first = quiet, second = quiet;
  first.events->events = {xid_event(79, 101.2), ecc_event(DeviceEvent::Kind::ecc_double_bit, 101.3)};
  second.events->events = {xid_event(79, 102.1), xid_event(13, 102.2)};
  second.retired_pages = 4;
  t.script["GPU-a"] = {quiet, first, second};
  json e = run_script(t, "GPU-a", gpu("GPU-a"), {}).events_json();
  CHECK(e["source"] == "nvml-events");
  CHECK(e["xid"]["count"] == 3);
  CHECK(e["xid"]["codes"] == json::array({13, 79}));
  CHECK(e["xid"]["by_code"] == json({{"13", 1}, {"79", 2}}));
  CHECK(e["xid"]["first_s"].get<double>() == doctest::Approx(1.2));  // from the device's first poll at 100 s
  CHECK(e["xid"]["last_s"].get<double>() == doctest::Approx(2.2));
  CHECK(e["xid"]["first_time"] == "2025-12-04T00:01:41Z");
  CHECK(e["ecc_double_bit_events"] == 1);
  CHECK(e["ecc_single_bit_events"] == 0);
  CHECK(e["retired_pages"] == 1);
  CHECK(e["remapped_rows"] == 0);
  CHECK(e["unavailable"].empty());
}

TEST_CASE("account: error events unknown are null with the reason, never 0") {
  ScriptedTelemetry t;
  SUBCASE("a kind the device does not report") {
    Step s;
    s.events = DeviceEvents{};
    s.events->unavailable = {{"ecc_single_bit", "not among the event types this GPU reports"},
                             {"ecc_double_bit", "not among the event types this GPU reports"}};
    t.script["GPU-a"] = {s, s};
    json e = run_script(t, "GPU-a", gpu("GPU-a"), {}).events_json();
    CHECK(e["xid"]["count"] == 0);
    CHECK(e["ecc_double_bit_events"].is_null());
    CHECK(e["unavailable"]["ecc_double_bit"] == "not among the event types this GPU reports");
    CHECK(e["retired_pages"].is_null());  // the telemetry gave no count
    CHECK(e["unavailable"].contains("retired_pages"));
  }
  SUBCASE("a read that failed: what was counted before is no longer the whole story") {
    Step ok, failed;
    ok.events = DeviceEvents{};
    ok.events->events = {xid_event(79, 100.5)};
    failed.events_error = "Unknown Error";
    t.script["GPU-a"] = {ok, failed, ok};
    json e = run_script(t, "GPU-a", gpu("GPU-a"), {}).events_json();
    CHECK(e["xid"].is_null());
    CHECK(e["ecc_single_bit_events"].is_null());
    CHECK(e["unavailable"]["xid"].get<std::string>().find("Unknown Error") != std::string::npos);
  }
  SUBCASE("a source without events (the interface's default)") {
    t.script["GPU-a"] = {Step{}, Step{}};
    json e = run_script(t, "GPU-a", gpu("GPU-a"), {}).events_json();
    CHECK(e["source"].is_null());
    CHECK(e["xid"].is_null());
    CHECK(e["unavailable"]["xid"] == "scripted telemetry reports no error events");
  }
}

TEST_CASE("account: the job's error events are the devices' sums, null when no device knew them") {
  ScriptedTelemetry t;
  Step s;
  s.events = DeviceEvents{};
  s.retired_pages = 0;
  Step bad = s;
  bad.events->events = {xid_event(48, 100.5), ecc_event(DeviceEvent::Kind::ecc_double_bit, 100.5)};
  t.script["GPU-a"] = {s, bad};
  t.script["GPU-b"] = {s, s};
  std::vector<GpuUsage> gpus = {run_script(t, "GPU-a", gpu("GPU-a"), {}), run_script(t, "GPU-b", gpu("GPU-b"), {})};
  AccountMeta m;
  m.mode = "wrap";
  json total = account_section(m, JobIdentity{}, CpuUsage{}, std::nullopt, gpus, std::nullopt)["total"]["events"];
  CHECK(total["xid_count"] == 1);
  CHECK(total["xid_codes"] == json::array({48}));
  CHECK(total["devices_with_xid"] == 1);
  CHECK(total["ecc_double_bit_events"] == 1);
  CHECK(total["retired_pages"] == 0);
  CHECK(total["ecc_uncorrected_errors"].is_null());  // no device read its counter
  CHECK(total["complete"] == false);
}

TEST_CASE("account: held GPU-seconds never decrease (a counter) and the last sample ends with a gap") {
  ScriptedTelemetry t;
  auto step = [](std::uint64_t job_gib, std::uint64_t other_gib) {
    Step st;
    st.power = 100;
    st.processes = {proc(10, std::nullopt, job_gib << 30), proc(99, std::nullopt, other_gib << 30)};
    return st;
  };
  Step lost;
  lost.lost = true;
  // The job's share of the device: 1/2, 3/4, 1/4, then the GPU is lost.
  t.script["GPU-a"] = {step(1, 1), step(3, 1), step(1, 3), lost};
  GpuUsage usage(seen_gpu("GPU-a"), false);
  std::uint64_t cursor = 0;
  double held = 0;
  for (t.step = 0; t.step < t.script["GPU-a"].size(); ++t.step) {
    usage.add(poll_device(t, "GPU-a", cursor, 100.0 + static_cast<double>(t.step)), {10});
    CAPTURE(t.step);
    CHECK(usage.held_s() >= held);  // the mean share fell at step 2; GPU-seconds held did not
    held = usage.held_s();
    CHECK(usage.held_s() == doctest::Approx(usage.available_s() * usage.count()));
    json j = usage.to_json();
    CHECK(j["held_s"].get<double>() == doctest::Approx(held));
    if (t.step < 3) CHECK(j["last_sample"]["power_w"] == 100.0);
    else CHECK(j["last_sample"].is_null());  // no reading of a lost GPU is shown as current
  }
  CHECK(held == doctest::Approx(0.75 + 0.25 + 1.0));  // shares of the three intervals, the gap held as before
}

namespace {

// A job on an H100 (with a benchmark score) and a MIG slice, and what the
// last sample read.
json textfile_account() {
  json a = {{"mode", "wrap"},
            {"interval_s", 30.0},
            {"wall_s", 100.0},
            {"cpu", {{"utime_s", 90.0}, {"stime_s", 5.0}, {"max_rss_bytes", 2048}}},
            {"identity", {{"job_id", "42"}, {"user", "alice"}, {"fqan", "/atlas/Role=production"}}},
            {"normalised",
             {{"gpu", {{"benchmark_type", "gpukit-hep/0.1"}, {"devices", {{{"uuid", "GPU-a"}, {"model", "H100"}, {"score", 2.5}}}}}}}},
            {"gpus", json::array()}};
  a["gpus"].push_back({{"uuid", "GPU-a"}, {"kind", "gpu"}, {"model", "H100"}, {"count", 1.0}, {"available_s", 100.0},
                       {"held_s", 100.0}, {"active_s", 50.0}, {"utilization_mean_pct", 50.0}, {"energy_j", 25000.0},
                       {"last_sample",
                        {{"temperature_c", 61}, {"sm_clock_mhz", 1755}, {"memory_clock_mhz", 2619}, {"power_w", 250.5},
                         {"memory_used_bytes", 1024}, {"throttle_reasons", {"sw_power_cap", "new_reason"}},
                         {"ecc_corrected_volatile", 3}, {"ecc_uncorrected_volatile", 0}}},
                       {"events",
                        {{"source", "nvml-events"},
                         {"xid", {{"count", 3}, {"codes", {79, 200}}, {"by_code", {{"79", 1}, {"200", 2}}}}},
                         {"ecc_single_bit_events", 0},
                         {"ecc_double_bit_events", 1},
                         {"retired_pages", nullptr},
                         {"remapped_rows", 1}}}});
  a["gpus"].push_back({{"uuid", "MIG-b"}, {"kind", "mig"}, {"parent_uuid", "GPU-p"}, {"model", "A100"}, {"count", 0.429},
                       {"available_s", 100.0}, {"held_s", 42.9}, {"active_s", nullptr}, {"last_sample", nullptr}});
  return a;
}

// The file with "<now>" for the one value that changes at every call (the
// last sample of the file).
std::string without_timestamp(const std::string& text) {
  std::size_t line = text.rfind("\ngpukit_account_last_update_timestamp_seconds");
  std::size_t value = text.rfind(' ');
  REQUIRE(line != std::string::npos);
  REQUIRE(value > line);
  return text.substr(0, value + 1) + "<now>\n";
}

}  // namespace

TEST_CASE("account: the textfile's families, labels and base units (golden)") {
  std::string job = render_prometheus(textfile_account());
  CHECK(test::compare_golden("account/textfile-job.prom", without_timestamp(job)) == "");
  json node = textfile_account();
  node["mode"] = "node";
  node["normalised"] = nullptr;
  std::string text = render_prometheus(node);
  CHECK(test::compare_golden("account/textfile-node.prom", without_timestamp(text)) == "");
  // One HELP and TYPE per family, its samples together.
  for (const std::string& t : {job, text}) {
    std::map<std::string, int> types;
    std::string previous;
    std::istringstream lines(t);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("# TYPE ", 0) == 0) {
        std::string name = line.substr(7, line.find(' ', 7) - 7);
        CHECK(++types[name] == 1);
        previous = name;
      } else if (line[0] != '#') {
        CHECK(line.rfind(previous, 0) == 0);
      }
    }
  }
  // The VO from the identity wins over the FQAN's first group.
  json vo = textfile_account();
  vo["identity"]["vo"] = "cms";
  CHECK(render_prometheus(vo).find("{job_id=\"42\",user=\"alice\",vo=\"cms\"}") != std::string::npos);
}

TEST_CASE("account: time series columns (golden header) and rows") {
  CHECK(test::compare_golden("account/series-header.tsv", series_header()) == "");
  SeriesRow r;
  r.time = 1700000000;
  r.wtime = 1.5;
  r.utime = 1.25;
  r.nprocs = 3;
  r.gpufbmem = 2048;
  r.gpu_energy_j = 12.5;
  std::string row = series_row(r);
  CHECK(row.substr(0, 26) == "1700000000\t1.500\t1.25\t0.00");
  CHECK(std::count(row.begin(), row.end(), '\t') + 1 == static_cast<long>(series_columns().size()));
}

TEST_CASE("account: several driver samples of one process since the cursor count once (their mean)") {
  ScriptedTelemetry t;
  for (int i = 0; i <= 2; ++i) {
    Step st;
    st.util = 100;
    // Four samples of the job's process in the interval, and two of another's.
    st.processes = {proc(10, 40.0, 1ULL << 30), proc(10, 60.0, 1ULL << 30), proc(10, 40.0, 1ULL << 30),
                    proc(10, 60.0, 1ULL << 30), proc(99, 20.0, 1ULL << 30), proc(99, 20.0, 1ULL << 30)};
    t.script["GPU-a"].push_back(st);
  }
  GpuUsage u = run_script(t, "GPU-a", seen_gpu("GPU-a"), {10});
  CHECK(u.attribution() == Attribution::process);
  CHECK(*u.active_s() == doctest::Approx(1.0));  // 50 % x 2 s, not 200 %
  CHECK(u.count() == doctest::Approx(0.5));      // 1 GiB of 2 GiB, memory not summed per sample
  CHECK(*u.memory_max_bytes() == 1ULL << 30);
}

namespace {

// A telemetry source whose calls are scripted: a deadline error (a hung call,
// as run_with_deadline reports it), an exception, or a sample; it counts calls.
class HangingTelemetry final : public gpukit::TelemetrySource {
 public:
  enum class Next { sample, deadline, throw_system_error };
  Next next = Next::sample;
  int calls = 0;
  std::string vendor() const override { return "scripted"; }
  std::vector<std::string> devices() const override { return {"GPU-a", "GPU-b"}; }
  gpukit::Result<gpukit::DeviceSample> sample(const std::string& uuid) override {
    ++calls;
    if (next == Next::deadline) return gpukit::deadline_error("nvmlDeviceGetPowerUsage did not return within 5 s");
    if (next == Next::throw_system_error) throw std::system_error(EAGAIN, std::generic_category(), "thread");
    gpukit::DeviceSample s;
    s.uuid = uuid;
    return s;
  }
  gpukit::Result<std::vector<gpukit::ProcessSample>> processes(const std::string& uuid, std::uint64_t&) override {
    auto s = sample(uuid);
    if (!s) return s.error();
    return std::vector<gpukit::ProcessSample>{};
  }
};

}  // namespace

TEST_CASE("GuardedTelemetry: a device whose call hung is never called again, the others are") {
  auto owned = std::make_unique<HangingTelemetry>();
  HangingTelemetry* source = owned.get();
  gpukit::GuardedTelemetry guarded(std::move(owned));
  std::uint64_t cursor = 0;
  CHECK(guarded.sample("GPU-a"));
  source->next = HangingTelemetry::Next::deadline;
  auto hung = guarded.processes("GPU-a", cursor);
  REQUIRE_FALSE(hung);
  CHECK(hung.error().code == gpukit::ExitCode::deadline);
  CHECK(guarded.timed_out("GPU-a"));
  CHECK_FALSE(guarded.timed_out("GPU-b"));
  source->next = HangingTelemetry::Next::sample;
  int before = source->calls;
  for (int i = 0; i < 100; ++i) {
    auto s = guarded.sample("GPU-a");
    REQUIRE_FALSE(s);
    CHECK(s.error().what() == "GPU-a: not called again: an earlier call did not return");
    CHECK_FALSE(guarded.processes("GPU-a", cursor));
  }
  CHECK(source->calls == before);  // no call, so no thread, for the hung device
  CHECK(guarded.sample("GPU-b"));
  CHECK(source->calls == before + 1);
}

TEST_CASE("GuardedTelemetry: an exception from the source (no thread could be started) comes back as an error") {
  auto owned = std::make_unique<HangingTelemetry>();
  owned->next = HangingTelemetry::Next::throw_system_error;
  gpukit::GuardedTelemetry guarded(std::move(owned));
  auto s = guarded.sample("GPU-b");
  REQUIRE_FALSE(s);
  CHECK(s.error().code == gpukit::ExitCode::environment);
  CHECK(s.error().what().find("GPU-b: telemetry call failed: thread") == 0);
  CHECK_FALSE(guarded.timed_out("GPU-b"));  // not a hang: tried again next time
}

TEST_CASE("GpuUsage: a device marked timed out says so in its record") {
  gpukit::HeldDevice d;
  d.uuid = "GPU-a";
  gpukit::GpuUsage usage(d, false);
  CHECK(usage.to_json()["status"] == "ok");
  usage.mark_timed_out();
  CHECK(usage.to_json()["status"] == "timeout");
}
