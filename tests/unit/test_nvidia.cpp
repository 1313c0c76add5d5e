// The NVIDIA vendor layer through the real loader, against the fake
// libnvidia-ml.so.1 / libcuda.so.1 playing the machines in tests/fixtures/machines.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "core/deadline.hpp"
#include "core/dynlib.hpp"
#include "test_support.hpp"
#include "vendors/nvidia/nvidia.hpp"
#include "vendors/telemetry.hpp"

using namespace gpukit;
using nlohmann::json;

using gpukit::test::ScopedEnvironment;

namespace {

constexpr unsigned long long MiB = 1ULL << 20;
constexpr unsigned long long GiB = 1ULL << 30;

enum class Nvml { current, old, absent };
enum class Cuda { present, absent };

std::string nvml_path(Nvml nvml) {
  switch (nvml) {
    case Nvml::current: return test::fake("nvidia/libnvidia-ml.so.1");
    case Nvml::old: return test::fake("nvidia/old/libnvidia-ml.so.1");
    case Nvml::absent: break;
  }
  return "/nonexistent/gpukit/libnvidia-ml.so.1";
}

// The fakes set up for `machine` (a path), with an empty /proc unless a root is given.
struct FakeNode : ScopedEnvironment {
  explicit FakeNode(const std::string& machine, Nvml nvml = Nvml::current, Cuda cuda = Cuda::present,
                    const std::string& sysfs_root = test::temp_dir()) {
    set("GPUKIT_FAKE_MACHINE", machine);
    set("GPUKIT_NVML_LIBRARY", nvml_path(nvml));
    set("GPUKIT_CUDA_LIBRARY",
        cuda == Cuda::present ? test::fake("nvidia/libcuda.so.1") : "/nonexistent/gpukit/libcuda.so.1");
    set("GPUKIT_SYSFS_ROOT", sysfs_root);
  }
};

std::string machine(const std::string& name) { return test::fixture("machines/" + name); }

json machine_json(const std::string& name) { return json::parse(test::read_file(machine(name))); }

// A variant of a fixture written to a temporary file.
std::string machine_variant(const std::string& name, const std::function<void(json&)>& edit) {
  json m = machine_json(name);
  edit(m);
  std::string path = test::temp_dir() + "/" + name;
  std::ofstream(path) << m.dump(2);
  return path;
}

// What the fake recorded: how often an entry point was called, NVML's init count.
struct FakeNvmlHooks {
  std::shared_ptr<DynamicLibrary> library;
  int (*call_count)(const char*) = nullptr;
  int (*refcount)() = nullptr;
  explicit FakeNvmlHooks(Nvml nvml) {
    auto opened = DynamicLibrary::open({nvml_path(nvml)});  // the same handle the loader holds
    REQUIRE(opened.ok());
    library = *opened;
    call_count = library->function<int(const char*)>({"gpukit_fake_nvml_call_count"});
    refcount = library->function<int()>({"gpukit_fake_nvml_refcount"});
    REQUIRE(static_cast<bool>(call_count));
    REQUIRE(static_cast<bool>(refcount));
  }
};

bool has_note(const GpuRecord& gpu, const std::string& prefix) {
  return std::any_of(gpu.notes.begin(), gpu.notes.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
}

// Bounds on the fake's clock, which starts inside open/probe: elapsed time since
// just after the call is a lower bound, since just before it an upper bound.
class FakeClock {
 public:
  void before() { before_ = std::chrono::steady_clock::now(); }
  void after() { after_ = std::chrono::steady_clock::now(); }
  double at_least() const { return seconds_since(after_); }
  double at_most() const { return seconds_since(before_); }
  void wait_until(double t) const {
    while (at_least() < t) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

 private:
  static double seconds_since(std::chrono::steady_clock::time_point p) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - p).count();
  }
  std::chrono::steady_clock::time_point before_, after_;
};

std::unique_ptr<TelemetrySource> open_telemetry(FakeClock& clock) {
  clock.before();
  auto source = open_nvidia_telemetry(5);
  clock.after();
  REQUIRE_MESSAGE(source.ok(), (source.ok() ? "" : source.error().what()));
  return std::move(*source);
}

std::optional<std::string> unavailable_reason(const DeviceSample& s, const std::string& field) {
  for (const auto& [name, reason] : s.unavailable)
    if (name == field) return reason;
  return std::nullopt;
}

}  // namespace

TEST_CASE("nvidia: an 8 x H100 node field by field, through NVML and the CUDA driver API") {
  FakeNode node(machine("nvidia_h100x8.json"));
  FakeNvmlHooks hooks(Nvml::current);
  const int init_before = hooks.call_count("nvmlInit_v2");
  const int refcount_before = hooks.refcount();
  const int pci_before = hooks.call_count("nvmlDeviceGetPciInfo_v3");
  json expected = machine_json("nvidia_h100x8.json");

  VendorInventory inv = probe_nvidia(5);

  CHECK(inv.vendor == "nvidia");
  CHECK(inv.status.state == VendorState::ok);
  CHECK(inv.status.reason.empty());
  CHECK(inv.source == "nvml+cuda");
  CHECK(inv.missing_symbols.empty());
  REQUIRE(inv.driver_version);
  CHECK(inv.driver_version->raw == "550.54.14");
  CHECK(inv.driver_version->parts == std::vector<int>{550, 54, 14});
  REQUIRE(inv.cuda_version);
  CHECK(inv.cuda_version->raw == "12.4");
  CHECK(inv.cuda_version->parts == std::vector<int>{12, 4});
  REQUIRE(inv.library_version);
  CHECK(inv.library_version->raw == "12.550.54.14");

  REQUIRE(inv.gpus.size() == 8);
  for (std::size_t i = 0; i < 8; ++i) {
    CAPTURE(i);
    const GpuRecord& g = inv.gpus[i];
    const json& e = expected["gpus"][i];
    CHECK(g.vendor == "nvidia");
    CHECK(g.index == static_cast<int>(i));
    CHECK(g.cuda_index == static_cast<int>(i));
    CHECK(g.name == "NVIDIA H100 80GB HBM3");
    CHECK(g.uuid == e["uuid"].get<std::string>());
    CHECK(g.uuid.size() == 40);  // "GPU-" + 36
    CHECK(g.pci_bus_id == e["pci_bus_id"].get<std::string>());
    CHECK(g.pci_device_id == "0x2330");
    CHECK(g.memory_bytes == 81559 * MiB);
    CHECK(g.multiprocessors == 132);
    CHECK(g.cc_major == 9);
    CHECK(g.cc_minor == 0);
    CHECK(g.max_sm_clock_mhz == 1980);
    CHECK(g.max_memory_clock_mhz == 2619);
    CHECK(g.memory_bus_width_bits == 5120);
    CHECK(g.ecc_enabled == true);
    CHECK(g.power_limit_w == doctest::Approx(700));
    CHECK(g.compute_mode == "default");
    CHECK(g.pcie.max_generation == 5);
    CHECK(g.pcie.max_width == 16);
    CHECK(g.pcie.current_generation == 5);
    CHECK(g.pcie.current_width == 16);
    CHECK(g.mig_mode == "disabled");
    CHECK(g.mig_instances.empty());
    CHECK_FALSE(g.numa_node);
    CHECK(g.local_cpus.empty());
    CHECK(g.source == "nvml+cuda");
    CHECK(g.notes.empty());
  }
  // The versioned entry points were preferred, and NVML was shut down again.
  CHECK(hooks.call_count("nvmlInit_v2") == init_before + 1);
  CHECK(hooks.call_count("nvmlInit") == 0);
  CHECK(hooks.call_count("nvmlDeviceGetPciInfo_v3") == pci_before + 8);
  CHECK(hooks.call_count("nvmlDeviceGetPciInfo") == 0);
  CHECK(hooks.refcount() == refcount_before);
}

TEST_CASE("nvidia: a mixed node, CUDA's order differing from PCI order, refused fields and fallbacks") {
  FakeNode node(machine("nvidia_mixed.json"));
  VendorInventory inv = probe_nvidia(5);
  REQUIRE(inv.status.state == VendorState::ok);
  CHECK(inv.driver_version->raw == "535.104.05");
  CHECK(inv.cuda_version->raw == "12.2");
  REQUIRE(inv.gpus.size() == 3);

  const GpuRecord& l4 = inv.gpus[0];
  CHECK(l4.name == "NVIDIA L4");
  CHECK(l4.pci_bus_id == "0000:17:00.0");
  CHECK(l4.pci_device_id == "0x27b8");
  CHECK(l4.cuda_index == 2);  // slowest last in CUDA's order, first on the PCI bus
  CHECK(l4.cc_major == 8);
  CHECK(l4.cc_minor == 9);
  CHECK(l4.multiprocessors == 58);
  CHECK(l4.memory_bytes == 23034 * MiB);
  CHECK(l4.memory_bus_width_bits == 192);  // NVML refused; the CUDA attribute gave it
  CHECK(l4.power_limit_w == doctest::Approx(72));  // enforced limit refused; the management limit gave it
  CHECK(l4.pcie.current_generation == 1);
  CHECK(l4.mig_mode == "unsupported");
  CHECK(l4.notes.empty());

  const GpuRecord& a = inv.gpus[1];
  const GpuRecord& b = inv.gpus[2];
  CHECK(a.name == "NVIDIA A100-SXM4-40GB");
  CHECK(a.pci_bus_id == "0000:65:00.0");
  CHECK(a.pci_device_id == "0x20b0");
  CHECK(a.cuda_index == 0);
  CHECK(b.cuda_index == 1);
  CHECK(b.pci_bus_id == "0000:ca:00.0");
  CHECK(a.multiprocessors == 108);
  CHECK(a.memory_bytes == 40 * GiB);
  CHECK(a.compute_mode == "default");
  CHECK(b.compute_mode == "exclusive_process");
  CHECK(a.pcie.current_generation == 4);
  CHECK_FALSE(b.pcie.current_generation);  // refused, no other source
  CHECK(b.pcie.current_width == 16);
  CHECK(b.notes == std::vector<std::string>{"nvmlDeviceGetCurrPcieLinkGeneration: Not Supported"});
  CHECK(a.mig_mode == "disabled");
}

TEST_CASE("nvidia: without libcuda the CUDA-only facts are missing, with notes saying why") {
  FakeNode node(machine("nvidia_mixed.json"), Nvml::current, Cuda::absent);
  VendorInventory inv = probe_nvidia(5);
  REQUIRE(inv.status.state == VendorState::ok);
  CHECK(inv.source == "nvml");
  CHECK(inv.cuda_version->raw == "12.2");  // from NVML
  REQUIRE(inv.gpus.size() == 3);
  for (const auto& g : inv.gpus) {
    CAPTURE(g.index);
    CHECK_FALSE(g.cuda_index);
    CHECK_FALSE(g.multiprocessors);
    CHECK(g.source == "nvml");
    CHECK(has_note(g, "cuda_index: /nonexistent/gpukit/libcuda.so.1"));
    CHECK(has_note(g, "multiprocessors: "));
    CHECK(g.cc_major == 8);  // NVML's own answer
  }
  CHECK_FALSE(inv.gpus[0].memory_bus_width_bits);
  CHECK(has_note(inv.gpus[0], "nvmlDeviceGetMemoryBusWidth: Not Supported"));
  CHECK(inv.gpus[1].memory_bus_width_bits == 5120);
}

TEST_CASE("nvidia: MIG instances with their profiles, and a GPU with MIG disabled") {
  FakeNode node(machine("nvidia_a100_mig.json"));
  json expected = machine_json("nvidia_a100_mig.json");
  VendorInventory inv = probe_nvidia(5);
  REQUIRE(inv.status.state == VendorState::ok);
  REQUIRE(inv.gpus.size() == 2);

  const GpuRecord& mig = inv.gpus[0];
  CHECK(mig.mig_mode == "enabled");
  CHECK(mig.pci_bus_id == "0000:07:00.0");
  // CUDA enumerates MIG instances, not the GPU: no ordinal or SM count for it.
  CHECK_FALSE(mig.cuda_index);
  CHECK_FALSE(mig.multiprocessors);
  CHECK(has_note(mig, "cuda_index, multiprocessors: MIG is enabled"));
  REQUIRE(mig.mig_instances.size() == 3);
  const char* profiles[] = {"3g.20gb", "1g.5gb", "1g.5gb"};
  const int gi[] = {2, 9, 10};
  const int sms[] = {42, 14, 14};
  const unsigned long long memory[] = {19968 * MiB, 4864 * MiB, 4864 * MiB};
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    const MigInstance& m = mig.mig_instances[i];
    CHECK(m.uuid == expected["gpus"][0]["mig_instances"][i]["uuid"].get<std::string>());
    CHECK(m.uuid.rfind("MIG-", 0) == 0);
    CHECK(m.profile == profiles[i]);
    CHECK(m.index == static_cast<int>(i));
    CHECK(m.gpu_instance_id == gi[i]);
    CHECK(m.compute_instance_id == 0);
    CHECK(m.multiprocessors == sms[i]);
    CHECK(m.memory_bytes == memory[i]);
  }
  // The last instance refused its name: the profile came from its attributes.
  CHECK(has_note(mig, "MIG 2: nvmlDeviceGetName: Not Supported"));

  const GpuRecord& plain = inv.gpus[1];
  CHECK(plain.mig_mode == "disabled");
  CHECK(plain.mig_instances.empty());
  CHECK(plain.cuda_index == 1);
  CHECK(plain.multiprocessors == 108);
  CHECK(plain.notes.empty());
}

TEST_CASE("nvidia: nvmlInit failures become driver_absent, permission_denied or init_failed") {
  SUBCASE("no permission (the fixture)") {
    FakeNode node(machine("nvidia_init_failure.json"));
    VendorInventory inv = probe_nvidia(5);
    CHECK(inv.status.state == VendorState::permission_denied);
    CHECK(inv.status.reason == "nvmlInit_v2: Insufficient Permissions");
    CHECK(inv.gpus.empty());
  }
  SUBCASE("driver not loaded") {
    FakeNode node(machine_variant("nvidia_init_failure.json", [](json& m) { m["init_error"] = "DRIVER_NOT_LOADED"; }));
    VendorInventory inv = probe_nvidia(5);
    CHECK(inv.status.state == VendorState::driver_absent);
    CHECK(inv.status.reason == "nvmlInit_v2: Driver Not Loaded");
  }
  SUBCASE("anything else") {
    FakeNode node(machine_variant("nvidia_init_failure.json", [](json& m) { m["init_error"] = "UNKNOWN"; }));
    VendorInventory inv = probe_nvidia(5);
    CHECK(inv.status.state == VendorState::init_failed);
    CHECK(inv.status.reason == "nvmlInit_v2: Unknown Error");
  }
}

TEST_CASE("nvidia: no GPU, a failing device count, and a GPU lost during the probe") {
  SUBCASE("zero devices") {
    FakeNode node(machine_variant("nvidia_h100x8.json", [](json& m) { m["gpus"] = json::array(); }));
    VendorInventory inv = probe_nvidia(5);
    CHECK(inv.status.state == VendorState::no_gpu);
    CHECK(inv.driver_version->raw == "550.54.14");
  }
  SUBCASE("the count fails") {
    FakeNode node(machine_variant("nvidia_h100x8.json",
                                  [](json& m) { m["errors"] = {{"nvmlDeviceGetCount", "IRQ_ISSUE"}}; }));
    VendorInventory inv = probe_nvidia(5);
    CHECK(inv.status.state == VendorState::init_failed);
    CHECK(inv.status.reason == "nvmlDeviceGetCount_v2: Interrupt Request Issue");
  }
  SUBCASE("one GPU is lost") {
    FakeNode node(machine_variant("nvidia_h100x8.json", [](json& m) { m["gpus"][3]["telemetry"]["lost_at_s"] = 0; }));
    VendorInventory inv = probe_nvidia(5);
    REQUIRE(inv.status.state == VendorState::ok);
    REQUIRE(inv.gpus.size() == 8);
    const GpuRecord& lost = inv.gpus[3];
    CHECK(lost.uuid.empty());
    CHECK_FALSE(lost.memory_bytes);
    CHECK(has_note(lost, "nvmlDeviceGetName: GPU is lost"));
    CHECK(inv.gpus[4].memory_bytes == 81559 * MiB);
    CHECK(inv.gpus[4].notes.empty());
  }
}

TEST_CASE("nvidia: a call that never returns gives status timeout naming it, within the deadline") {
  FakeNode node(machine("nvidia_hang.json"));
  const int abandoned = abandoned_calls();
  auto start = std::chrono::steady_clock::now();
  VendorInventory inv = probe_nvidia(1);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(took < 2.0);
  CHECK(inv.status.state == VendorState::timeout);
  CHECK(inv.status.reason == "nvmlDeviceGetCount_v2 did not return within 1 s");
  CHECK(inv.gpus.empty());
  CHECK(abandoned_calls() == abandoned + 1);
}

TEST_CASE("nvidia: an old NVML without versioned entry points and without the bus width query") {
  SUBCASE("alone") {
    FakeNode node(machine("nvidia_h100x8.json"), Nvml::old, Cuda::absent);
    VendorInventory inv = probe_nvidia(5);
    REQUIRE(inv.status.state == VendorState::ok);
    // The old library also lacks GPM (R520 and newer): activity profiles say why they are null.
    CHECK(inv.missing_symbols == std::vector<std::string>{"nvmlDeviceGetMemoryBusWidth", "nvmlGpmQueryDeviceSupport",
                                                          "nvmlGpmSampleAlloc", "nvmlGpmSampleFree", "nvmlGpmSampleGet",
                                                          "nvmlGpmMigSampleGet", "nvmlGpmMetricsGet"});
    CHECK(inv.cuda_version->raw == "12.4");  // nvmlSystemGetCudaDriverVersion
    REQUIRE(inv.gpus.size() == 8);
    json expected = machine_json("nvidia_h100x8.json");
    for (std::size_t i = 0; i < 8; ++i) {
      CAPTURE(i);
      const GpuRecord& g = inv.gpus[i];
      CHECK(g.pci_bus_id == expected["gpus"][i]["pci_bus_id"].get<std::string>());  // the v1 layout
      CHECK(g.pci_device_id == "0x2330");
      CHECK(g.memory_bytes == 81559 * MiB);
      CHECK_FALSE(g.memory_bus_width_bits);
      CHECK(has_note(g, "nvmlDeviceGetMemoryBusWidth: not exported by " + nvml_path(Nvml::old)));
    }
    FakeNvmlHooks hooks(Nvml::old);
    CHECK(hooks.call_count("nvmlInit") >= 1);
    CHECK(hooks.call_count("nvmlDeviceGetCount") >= 1);
    CHECK(hooks.call_count("nvmlDeviceGetPciInfo") >= 8);
  }
  SUBCASE("with libcuda, which supplies the bus width") {
    FakeNode node(machine("nvidia_h100x8.json"), Nvml::old, Cuda::present);
    VendorInventory inv = probe_nvidia(5);
    REQUIRE(inv.gpus.size() == 8);
    CHECK(inv.gpus[0].memory_bus_width_bits == 5120);
    CHECK(inv.gpus[0].notes.empty());
  }
  SUBCASE("MIG: the unversioned attributes carry no slice counts") {
    FakeNode node(machine("nvidia_a100_mig.json"), Nvml::old, Cuda::absent);
    VendorInventory inv = probe_nvidia(5);
    REQUIRE(inv.gpus.size() == 2);
    REQUIRE(inv.gpus[0].mig_instances.size() == 3);
    CHECK(inv.gpus[0].mig_instances[0].profile == "3g.20gb");  // from its name
    CHECK(inv.gpus[0].mig_instances[2].profile.empty());       // no name, no slices: unknown
    CHECK(inv.gpus[0].mig_instances[2].multiprocessors == 14);
  }
}

TEST_CASE("nvidia: NVML absent, the driver present: library_absent with GPUs from /proc/driver/nvidia") {
  FakeNode node(machine("nvidia_mixed.json"), Nvml::absent, Cuda::present,
                test::fixture("sysfs/nvidia_procfs_only"));
  VendorInventory inv = probe_nvidia(5);
  CHECK(inv.status.state == VendorState::library_absent);
  CHECK(inv.status.reason.find("NVML cannot be opened: /nonexistent/gpukit/libnvidia-ml.so.1") == 0);
  CHECK(inv.source == "procfs");
  REQUIRE(inv.driver_version);
  CHECK(inv.driver_version->raw == "550.54.14");
  CHECK_FALSE(inv.cuda_version);
  REQUIRE(inv.gpus.size() == 2);
  CHECK(inv.gpus[0].index == 0);
  CHECK(inv.gpus[0].name == "NVIDIA L4");
  CHECK(inv.gpus[0].uuid == "GPU-7c9e1a3c-5e7a-4c9e-8a2c-4e6a8c0e2a4c");
  CHECK(inv.gpus[0].pci_bus_id == "0000:17:00.0");
  CHECK(inv.gpus[0].source == "procfs");
  CHECK_FALSE(inv.gpus[0].memory_bytes);
  CHECK(inv.gpus[1].index == 1);
  CHECK(inv.gpus[1].name == "NVIDIA A100-SXM4-40GB");
  CHECK(inv.gpus[1].pci_bus_id == "0000:65:00.0");
}

TEST_CASE("nvidia: NVML absent and no driver: driver_absent") {
  FakeNode node(machine("nvidia_mixed.json"), Nvml::absent);
  VendorInventory inv = probe_nvidia(5);
  CHECK(inv.status.state == VendorState::driver_absent);
  CHECK(inv.status.reason.find("/proc/driver/nvidia/version does not exist") != std::string::npos);
  CHECK(inv.gpus.empty());
  CHECK_FALSE(inv.driver_version);
}

TEST_CASE("nvidia telemetry: readings, and energy deltas across a counter reset") {
  FakeNode node(machine("nvidia_telemetry.json"));
  json expected = machine_json("nvidia_telemetry.json");
  FakeClock clock;
  auto source = open_telemetry(clock);
  CHECK(source->vendor() == "nvidia");
  const std::string gpu0 = expected["gpus"][0]["uuid"];
  std::vector<std::string> devices = source->devices();
  CHECK(devices == std::vector<std::string>{gpu0, expected["gpus"][1]["uuid"], expected["gpus"][2]["uuid"],
                                            expected["gpus"][2]["mig_instances"][0]["uuid"],
                                            expected["gpus"][2]["mig_instances"][1]["uuid"]});

  auto first = source->sample(gpu0);
  REQUIRE(first.ok());
  const DeviceSample& s = *first;
  CHECK(s.uuid == gpu0);
  CHECK(s.power_w == doctest::Approx(250));
  REQUIRE(s.energy_j);
  CHECK(*s.energy_j >= 5.0e6);
  CHECK(*s.energy_j <= 5.0e6 + 250 * clock.at_most() + 0.001);
  REQUIRE(s.gpu_utilization_pct);
  CHECK(*s.gpu_utilization_pct >= 20);  // rises from 20 % at 0 s to 100 % at 1 s
  CHECK(*s.gpu_utilization_pct <= 20 + 80 * clock.at_most() + 1);
  CHECK(s.memory_utilization_pct == 40);
  CHECK(s.memory_used_bytes == 30 * GiB);
  CHECK(s.memory_total_bytes == 81559 * MiB);
  CHECK(s.sm_clock_mhz == 1755);
  CHECK(s.memory_clock_mhz == 2619);
  CHECK(s.temperature_c >= 55);
  CHECK(s.throttle_reasons == 5);
  CHECK(s.throttle_reason_names == std::vector<std::string>{"gpu_idle", "sw_power_cap"});
  CHECK(s.ecc_corrected == 3);
  CHECK(s.ecc_uncorrected == 0);
  // Every classic reading is there; only the GPM activity is not, since this
  // fixture scripts no GPM metrics (nvidia_gpm.json does).
  REQUIRE(s.unavailable.size() == 1);
  CHECK(s.unavailable[0].first == "activity");

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto second = source->sample(gpu0);
  REQUIRE(second.ok());
  REQUIRE(clock.at_most() < 1.5);  // still before the reset
  double dt = second->time_s - s.time_s;
  CHECK(dt >= 0.3);
  CHECK(*second->energy_j - *s.energy_j == doctest::Approx(250 * dt).epsilon(0.05));

  clock.wait_until(1.6);
  auto third = source->sample(gpu0);
  REQUIRE(third.ok());
  // The counter restarted at 1.5 s: it now reads less, and only what was drawn since.
  CHECK(*third->energy_j < *second->energy_j);
  CHECK(*third->energy_j >= 250 * 0.1 - 0.001);
  CHECK(*third->energy_j <= 250 * (clock.at_most() - 1.5) + 0.001);
}

TEST_CASE("nvidia telemetry: a GPU lost mid-run fails its own samples only") {
  FakeNode node(machine("nvidia_telemetry.json"));
  json expected = machine_json("nvidia_telemetry.json");
  const std::string gpu0 = expected["gpus"][0]["uuid"];
  const std::string gpu1 = expected["gpus"][1]["uuid"];
  FakeClock clock;
  auto source = open_telemetry(clock);
  auto before = source->sample(gpu1);
  REQUIRE(clock.at_most() < 0.6);
  REQUIRE(before.ok());
  CHECK(before->power_w == doctest::Approx(120));

  clock.wait_until(0.7);
  auto lost = source->sample(gpu1);
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error().code == ExitCode::environment);
  CHECK(lost.error().what() == "nvmlDeviceGetPowerUsage (GPU 1): GPU is lost");
  std::uint64_t cursor = 0;
  auto processes = source->processes(gpu1, cursor);
  REQUIRE_FALSE(processes.ok());
  CHECK(processes.error().what().find("GPU is lost") != std::string::npos);

  auto other = source->sample(gpu0);
  REQUIRE(other.ok());
  CHECK(other->power_w == doctest::Approx(250));
}

TEST_CASE("nvidia telemetry: processes with the lastSeenTimeStamp cursor lose nothing between polls") {
  FakeNode node(machine("nvidia_telemetry.json"));
  json expected = machine_json("nvidia_telemetry.json");
  const std::string gpu0 = expected["gpus"][0]["uuid"];
  FakeClock clock;
  auto source = open_telemetry(clock);

  std::uint64_t cursor = 0;
  std::map<int, std::vector<std::uint64_t>> stamps;  // pid -> utilisation sample times, all polls
  std::vector<std::set<int>> running;                // per poll: pids with memory figures
  auto poll = [&] {
    std::uint64_t previous = cursor;
    auto r = source->processes(gpu0, cursor);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
    std::set<int> with_memory;
    for (const auto& p : *r) {
      CHECK(p.uuid == gpu0);
      if (p.used_memory_bytes) with_memory.insert(p.pid);
      if (p.last_seen_us == 0) {
        CHECK_FALSE(p.sm_utilization_pct);
        continue;
      }
      CHECK(p.last_seen_us > previous);
      CHECK(p.last_seen_us <= cursor);
      REQUIRE(p.sm_utilization_pct);
      stamps[p.pid].push_back(p.last_seen_us);
      if (p.pid == 4101) CHECK(p.used_memory_bytes == 8 * GiB);
    }
    running.push_back(with_memory);
  };

  poll();
  REQUIRE(clock.at_most() < 0.5);
  clock.wait_until(0.3);
  poll();
  clock.wait_until(1.1);
  poll();

  CHECK(running[0] == std::set<int>{4101, 4103});
  CHECK(running[2] == std::set<int>{4101, 4102});  // 4102 appeared at 0.5 s, 4103 left at 1.0 s
  // Samples every 50 ms: consecutive across polls, none twice, none missing.
  for (int pid : {4101, 4102, 4103}) {
    CAPTURE(pid);
    auto& t = stamps[pid];
    REQUIRE(t.size() >= 2);
    std::sort(t.begin(), t.end());
    for (std::size_t i = 1; i < t.size(); ++i) CHECK(t[i] - t[i - 1] == 50000);
  }
  CHECK(stamps[4103].size() == 20);  // 0.00 .. 0.95 s
  CHECK(stamps[4102].front() - stamps[4101].front() == 500000);

  std::uint64_t later = cursor;
  auto again = source->processes(gpu0, later);
  REQUIRE(again.ok());
  CHECK(later >= cursor);
}

TEST_CASE("nvidia telemetry: MIG instances list what NVML refuses as unavailable, never as 0") {
  FakeNode node(machine("nvidia_telemetry.json"));
  json expected = machine_json("nvidia_telemetry.json");
  const std::string parent = expected["gpus"][2]["uuid"];
  const std::string mig = expected["gpus"][2]["mig_instances"][0]["uuid"];
  FakeClock clock;
  auto source = open_telemetry(clock);

  auto s = source->sample(mig);
  REQUIRE(s.ok());
  CHECK(s->memory_used_bytes == 4 * GiB);
  CHECK(s->memory_total_bytes == 19968 * MiB);
  CHECK_FALSE(s->power_w);
  CHECK_FALSE(s->energy_j);
  CHECK_FALSE(s->gpu_utilization_pct);
  CHECK_FALSE(s->temperature_c);
  CHECK(unavailable_reason(*s, "power_w") == "nvmlDeviceGetPowerUsage: Not Supported");
  CHECK(unavailable_reason(*s, "energy_j") == "nvmlDeviceGetTotalEnergyConsumption: Not Supported");
  CHECK(unavailable_reason(*s, "gpu_utilization_pct") == "nvmlDeviceGetUtilizationRates: Not Supported");
  CHECK(unavailable_reason(*s, "memory_utilization_pct") == "nvmlDeviceGetUtilizationRates: Not Supported");
  CHECK(unavailable_reason(*s, "throttle_reasons") == "nvmlDeviceGetCurrentClocksEventReasons: Not Supported");
  CHECK_FALSE(unavailable_reason(*s, "memory_used_bytes"));

  std::uint64_t cursor = 0;
  auto processes = source->processes(mig, cursor);
  REQUIRE(processes.ok());
  REQUIRE(processes->size() == 1);
  CHECK((*processes)[0].pid == 4201);
  CHECK((*processes)[0].used_memory_bytes == 4 * GiB);
  CHECK_FALSE((*processes)[0].sm_utilization_pct);  // no per-process utilisation on MIG
  CHECK(cursor == 0);

  auto on_parent = source->processes(parent, cursor);
  REQUIRE(on_parent.ok());
  REQUIRE(on_parent->size() == 1);
  CHECK((*on_parent)[0].pid == 4201);

  auto parent_sample = source->sample(parent);
  REQUIRE(parent_sample.ok());
  CHECK(parent_sample->power_w == doctest::Approx(180));
}

TEST_CASE("nvidia telemetry: an old NVML (v1 process records, throttle reasons under the old name)") {
  FakeNode node(machine("nvidia_telemetry.json"), Nvml::old);
  json expected = machine_json("nvidia_telemetry.json");
  const std::string gpu0 = expected["gpus"][0]["uuid"];
  FakeClock clock;
  auto source = open_telemetry(clock);
  auto s = source->sample(gpu0);
  REQUIRE(s.ok());
  CHECK(s->throttle_reasons == 5);
  std::uint64_t cursor = 0;
  auto processes = source->processes(gpu0, cursor);
  REQUIRE(processes.ok());
  std::map<int, std::uint64_t> memory;
  for (const auto& p : *processes)
    if (p.used_memory_bytes) memory[p.pid] = *p.used_memory_bytes;
  CHECK(memory == std::map<int, std::uint64_t>{{4101, 8 * GiB}, {4103, 1 * GiB}});
}

TEST_CASE("nvidia telemetry: errors when opening, and an unknown device") {
  SUBCASE("no NVML") {
    FakeNode node(machine("nvidia_telemetry.json"), Nvml::absent);
    auto source = open_nvidia_telemetry(5);
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().code == ExitCode::environment);
    CHECK(source.error().what().find("NVML cannot be opened: /nonexistent/gpukit/libnvidia-ml.so.1") == 0);
  }
  SUBCASE("nvmlInit refuses") {
    FakeNode node(machine("nvidia_init_failure.json"));
    auto source = open_nvidia_telemetry(5);
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().code == ExitCode::environment);
    CHECK(source.error().what() == "nvmlInit_v2: Insufficient Permissions");
  }
  SUBCASE("a hung driver") {
    FakeNode node(machine("nvidia_hang.json"));
    auto source = open_nvidia_telemetry(0.5);
    REQUIRE_FALSE(source.ok());
    CHECK(source.error().code == ExitCode::deadline);
    CHECK(source.error().what() == "nvmlDeviceGetCount_v2 did not return within 0.5 s");
  }
  SUBCASE("a UUID it does not know") {
    FakeNode node(machine("nvidia_telemetry.json"));
    FakeClock clock;
    auto source = open_telemetry(clock);
    auto s = source->sample("GPU-00000000-0000-0000-0000-000000000000");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ExitCode::usage);
    CHECK(s.error().what() == "nvidia telemetry: no NVIDIA device with UUID GPU-00000000-0000-0000-0000-000000000000");
  }
}

TEST_CASE("nvidia telemetry: error events from the GPU's event set, a MIG instance's by its GPU instance id") {
  FakeNode node(machine("nvidia_events.json"));
  json m = machine_json("nvidia_events.json");
  const std::string bad = m["gpus"][0]["uuid"], l4 = m["gpus"][2]["uuid"], a100 = m["gpus"][3]["uuid"];
  const std::string gi1 = m["gpus"][3]["mig_instances"][0]["uuid"], gi2 = m["gpus"][3]["mig_instances"][1]["uuid"];
  FakeClock clock;
  auto source = open_telemetry(clock);
  // The first read starts the watch: nothing has happened yet.
  for (const auto& uuid : {bad, l4, a100, gi1, gi2}) {
    auto e = source->events(uuid);
    REQUIRE(e.ok());
    CHECK(e->events.empty());
  }
  auto l4_events = source->events(l4);
  REQUIRE(l4_events.ok());
  CHECK(l4_events->unavailable.size() == 3);  // no event type reported: every kind says why
  clock.wait_until(0.6);
  auto e = source->events(bad);
  REQUIRE(e.ok());
  CHECK(e->unavailable.empty());
  REQUIRE(e->events.size() == 2);
  CHECK(e->events[0].kind == DeviceEvent::Kind::xid);
  CHECK(e->events[0].xid == 79);
  CHECK_FALSE(e->events[0].gpu_instance_id);
  CHECK(e->events[1].kind == DeviceEvent::Kind::ecc_double_bit);
  CHECK(source->events(bad)->events.empty());  // each event once
  // The instance with GPU instance id 2 gets the Xid, the other none; the GPU sees it too.
  auto on_gi2 = source->events(gi2);
  REQUIRE(on_gi2.ok());
  REQUIRE(on_gi2->events.size() == 1);
  CHECK(on_gi2->events[0].xid == 31);
  CHECK(on_gi2->events[0].gpu_instance_id == 2u);
  CHECK(source->events(gi1)->events.empty());
  CHECK(source->events(a100)->events.size() == 1);
  // The counters the record differences.
  auto s = source->sample(bad);
  REQUIRE(s.ok());
  CHECK(s->remapped_rows == 1u);
  CHECK(s->ecc_uncorrected == 3u);
  CHECK_FALSE(s->retired_pages);
  CHECK(unavailable_reason(*s, "retired_pages") == "nvmlDeviceGetRetiredPages_v2: Not Supported");
}

TEST_CASE("nvidia telemetry: an event wait that never returns is abandoned once per GPU, never waited on again") {
  std::string path = machine_variant("nvidia_events.json", [](json& m) { m["hang"] = "nvmlEventSetWait"; });
  FakeNode node(path);
  FakeNvmlHooks hooks(Nvml::current);
  json m = machine_json("nvidia_events.json");
  const std::string bad = m["gpus"][0]["uuid"];
  const std::string gi1 = m["gpus"][3]["mig_instances"][0]["uuid"], gi2 = m["gpus"][3]["mig_instances"][1]["uuid"];
  auto source = open_nvidia_telemetry(0.2);
  REQUIRE(source.ok());
  const int before = hooks.call_count("nvmlEventSetWait_v2");
  for (int i = 0; i < 3; ++i) {
    for (const auto& uuid : {bad, gi1, gi2}) {
      auto e = (*source)->events(uuid);
      REQUIRE_FALSE(e.ok());
      CHECK(e.error().code == ExitCode::deadline);
    }
  }
  // Two event sets (the H100's, the A100's for both instances): two waits, two abandoned threads.
  CHECK(hooks.call_count("nvmlEventSetWait_v2") - before == 2);
  // The samples are not the events' hostages.
  CHECK((*source)->sample(bad).ok());
}
