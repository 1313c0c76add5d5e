#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/deadline.hpp"
#include "test_support.hpp"
#include "vendors/amd/amd.hpp"
#include "vendors/amd/kfd.hpp"

using namespace gpukit;

using gpukit::test::ScopedEnvironment;

namespace {

// A fixture tree, the fake amd_smi playing `machine` (or no library at all).
void use_machine(ScopedEnvironment& env, const std::string& tree, const std::optional<std::string>& machine) {
  env.set("GPUKIT_SYSFS_ROOT", test::fixture("sysfs/" + tree));
  env.set("HSA_XNACK", std::nullopt);
  if (machine) {
    env.set("GPUKIT_AMDSMI_LIBRARY", test::fake("amdsmi/libamd_smi.so"));
    env.set("GPUKIT_FAKE_MACHINE", *machine);
  } else {
    env.set("GPUKIT_AMDSMI_LIBRARY", test::temp_dir() + "/libamd_smi.so");  // nothing there
    env.set("GPUKIT_FAKE_MACHINE", std::nullopt);
  }
}

bool has_note_containing(const GpuRecord& gpu, const std::string& text) {
  for (const auto& n : gpu.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

std::string write_machine(const std::string& json_text) {
  std::string path = test::temp_dir() + "/machine.json";
  std::ofstream(path) << json_text;
  return path;
}

}  // namespace

TEST_CASE("amd: gfx names from KFD's gfx_target_version") {
  CHECK(gfx_name_from_target_version(90010) == "gfx90a");
  CHECK(gfx_name_from_target_version(90402) == "gfx942");
  CHECK(gfx_name_from_target_version(90012) == "gfx90c");
  CHECK(gfx_name_from_target_version(90008) == "gfx908");
  CHECK(gfx_name_from_target_version(90500) == "gfx950");
  CHECK(gfx_name_from_target_version(100300) == "gfx1030");
  CHECK(gfx_name_from_target_version(110000) == "gfx1100");
  CHECK(gfx_name_from_target_version(120001) == "gfx1201");
  CHECK(gfx_name_from_target_version(0) == "");
}

TEST_CASE("amd: PCI address from KFD domain and location_id") {
  CHECK(detail::kfd_bus_id(0, 0xc100) == "0000:c1:00.0");
  CHECK(detail::kfd_bus_id(0, (0x26 << 8) | (3 << 3) | 1) == "0000:26:03.1");
  CHECK(detail::kfd_bus_id(1, 0x0500) == "0001:05:00.0");
}

TEST_CASE("amd: target features, xnack mode and generic targets") {
  auto mi250 = detail::amd_target_info("gfx90a");
  REQUIRE(mi250.ok());
  CHECK(mi250->known);
  CHECK(mi250->sramecc);
  CHECK(mi250->xnack);
  CHECK(mi250->generic.empty());
  auto mi300 = detail::amd_target_info("gfx942");
  REQUIRE(mi300.ok());
  CHECK(mi300->generic == std::vector<std::string>{"gfx9-4-generic"});
  auto rdna2 = detail::amd_target_info("gfx1030");
  REQUIRE(rdna2.ok());
  CHECK_FALSE(rdna2->xnack);
  CHECK(rdna2->generic == std::vector<std::string>{"gfx10-3-generic"});
  CHECK(amdgpu_generic_targets("gfx1101") == std::vector<std::string>{"gfx11-generic"});
  CHECK(amdgpu_generic_targets("gfx906") == std::vector<std::string>{"gfx9-generic"});
  CHECK(amdgpu_generic_targets("gfx1201") == std::vector<std::string>{"gfx12-generic"});
  CHECK(amdgpu_generic_targets("gfx90a").empty());
  CHECK_FALSE(detail::amd_target_info("gfx9999")->known);

  // noretry=-1 on gfx90a: the kernel turns retry off, so xnack-; HSA_XNACK=1
  // turns it on per process; noretry=0 turns it on for every process.
  CHECK(detail::xnack_enabled(*mi250, "", -1) == false);
  CHECK(detail::xnack_enabled(*mi250, "1", -1) == true);
  CHECK(detail::xnack_enabled(*mi250, "", 0) == true);
  CHECK(detail::xnack_enabled(*mi250, "0", 0) == false);
  CHECK(detail::xnack_enabled(*mi250, "", std::nullopt) == false);  // unreadable: the ASIC default
  auto mi100 = detail::amd_target_info("gfx908");  // no per-process XNACK
  CHECK(detail::xnack_enabled(*mi100, "1", 1) == false);
  CHECK(detail::xnack_enabled(*mi100, "1", 0) == true);
  auto raven = detail::amd_target_info("gfx902");  // default unknown
  CHECK_FALSE(detail::xnack_enabled(*raven, "", -1).has_value());
  CHECK_FALSE(detail::xnack_enabled(*rdna2, "1", 0).has_value());  // no xnack feature

  CHECK(detail::make_target_id("gfx90a", *mi250, true, false) == "gfx90a:sramecc+:xnack-");
  CHECK(detail::make_target_id("gfx942", *mi300, false, true) == "gfx942:sramecc-:xnack+");
  CHECK(detail::make_target_id("gfx90a", *mi250, true, std::nullopt) == "gfx90a:sramecc+");
  CHECK(detail::make_target_id("gfx1030", *rdna2, true, true) == "gfx1030");
}

TEST_CASE("amd: MI250X from KFD alone when amd_smi is absent") {
  ScopedEnvironment env;
  use_machine(env, "amd_mi250x", std::nullopt);
  VendorInventory inv = probe_amd(5);
  CHECK(inv.vendor == "amd");
  CHECK(inv.status.state == VendorState::ok);
  CHECK(inv.status.reason == "");
  CHECK(inv.source == "kfd");
  REQUIRE(inv.driver_version.has_value());
  CHECK(inv.driver_version->raw == "6.3.6");
  CHECK(inv.driver_version->parts == std::vector<int>{6, 3, 6});
  REQUIRE(inv.gpus.size() == 2);
  const GpuRecord& g = inv.gpus[0];
  CHECK(g.vendor == "amd");
  CHECK(g.index == 0);
  CHECK(g.source == "kfd");
  CHECK(g.name == "aldebaran");
  CHECK(g.gfx_target == "gfx90a");
  CHECK(g.target_id == "gfx90a:sramecc+:xnack-");
  CHECK(g.multiprocessors == 110);
  CHECK(g.memory_bytes == 64ULL << 30);
  CHECK(g.pci_bus_id == "0000:c1:00.0");
  CHECK(g.pci_device_id == "0x740c");
  CHECK(g.uuid == "GPU-4b8a9d0c12f3e501");
  CHECK(g.max_sm_clock_mhz == 1700);
  CHECK(g.max_memory_clock_mhz == 1600);
  CHECK(g.memory_bus_width_bits == 4096);
  CHECK(g.ecc_enabled == true);
  CHECK_FALSE(g.power_limit_w.has_value());
  CHECK(g.numa_node == 0);
  CHECK(g.local_cpus == "0-3,8-11");
  CHECK(g.pcie.max_generation == 4);
  CHECK(g.pcie.max_width == 16);
  CHECK(has_note_containing(g, "amd_smi not used"));
  CHECK(inv.gpus[1].index == 1);
  CHECK(inv.gpus[1].pci_bus_id == "0000:c6:00.0");
  CHECK(inv.gpus[1].uuid == "GPU-4b8a9d0c12f3e502");
}

TEST_CASE("amd: MI250X enriched by amd_smi, matched by PCI address") {
  ScopedEnvironment env;
  use_machine(env, "amd_mi250x", test::fixture("machines/amd_mi250x.json"));
  VendorInventory inv = probe_amd(5);
  CHECK(inv.status.state == VendorState::ok);
  CHECK(inv.source == "kfd+amdsmi");
  CHECK(inv.missing_symbols.empty());
  REQUIRE(inv.gpus.size() == 2);
  for (const auto& g : inv.gpus) {
    CHECK(g.source == "kfd+amdsmi");
    CHECK(g.name == "AMD Instinct MI250X");
    CHECK(g.power_limit_w == doctest::Approx(500.0));
    CHECK(g.memory_bytes == 64ULL << 30);  // KFD's count stays; amd_smi only fills a gap
    CHECK(g.notes.empty());
  }
  CHECK(inv.driver_version->raw == "6.3.6");

  env.set("HSA_XNACK", "1");
  CHECK(probe_amd(5).gpus[0].target_id == "gfx90a:sramecc+:xnack+");
}

TEST_CASE("amd: two MI300X, one GPU missing fields in amd_smi") {
  ScopedEnvironment env;
  use_machine(env, "amd_mi300x", test::fixture("machines/amd_mi300x.json"));
  VendorInventory inv = probe_amd(5);
  CHECK(inv.status.state == VendorState::ok);
  CHECK(inv.driver_version->raw == "6.8.5");
  REQUIRE(inv.gpus.size() == 2);
  CHECK(inv.gpus[0].gfx_target == "gfx942");
  CHECK(inv.gpus[0].target_id == "gfx942:sramecc+:xnack-");
  CHECK(inv.gpus[0].multiprocessors == 304);
  CHECK(inv.gpus[0].memory_bytes == 192ULL << 30);
  CHECK(inv.gpus[0].name == "AMD Instinct MI300X");
  CHECK(inv.gpus[0].power_limit_w == doctest::Approx(750.0));
  CHECK(inv.gpus[0].pci_device_id == "0x74a1");
  CHECK(inv.gpus[1].pci_bus_id == "0000:26:00.0");
  CHECK(inv.gpus[1].numa_node == 1);
  CHECK(inv.gpus[1].local_cpus == "4-7,12-15");
  CHECK_FALSE(inv.gpus[1].power_limit_w.has_value());
  CHECK(amdgpu_generic_targets(inv.gpus[0].gfx_target) == std::vector<std::string>{"gfx9-4-generic"});

  // Without amd_smi the KFD name of an IP-discovery ASIC names nothing.
  use_machine(env, "amd_mi300x", std::nullopt);
  CHECK(probe_amd(5).gpus[0].name == "AMD gfx942");
}

TEST_CASE("amd: amd_smi init failure and hang leave the KFD inventory") {
  ScopedEnvironment env;
  use_machine(env, "amd_mi250x", write_machine(R"({"amd": {"init_status": 18, "gpus": []}})"));
  VendorInventory failed = probe_amd(5);
  CHECK(failed.status.state == VendorState::ok);
  CHECK(failed.source == "kfd");
  REQUIRE(failed.gpus.size() == 2);
  CHECK(failed.gpus[0].name == "aldebaran");
  CHECK(has_note_containing(failed.gpus[0], "amdsmi_init returned 18 (AMDSMI_STATUS_INIT_ERROR"));

  use_machine(env, "amd_mi250x", write_machine(R"({"amd": {"init_delay_s": 3, "gpus": []}})"));
  int before = abandoned_calls();
  auto start = std::chrono::steady_clock::now();
  VendorInventory hung = probe_amd(0.2);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 2.0);
  CHECK(abandoned_calls() == before + 1);
  CHECK(hung.status.state == VendorState::ok);
  REQUIRE(hung.gpus.size() == 2);
  CHECK(has_note_containing(hung.gpus[0], "amd_smi did not return within 0.2 s"));
}

TEST_CASE("amd: no GPU, driver absent, /dev/kfd not accessible") {
  ScopedEnvironment env;
  use_machine(env, "cpu_2socket", std::nullopt);
  VendorInventory none = probe_amd(5);
  CHECK(none.status.state == VendorState::no_gpu);
  CHECK(none.status.reason == "no AMD GPU on the PCI bus and no KFD topology");
  CHECK(none.gpus.empty());

  // An MI300X on the bus, amdgpu not loaded.
  std::string bare = test::temp_dir();
  std::string dev = bare + "/sys/bus/pci/devices/0000:05:00.0";
  std::filesystem::create_directories(dev);
  std::ofstream(dev + "/vendor") << "0x1002\n";
  std::ofstream(dev + "/device") << "0x74a1\n";
  std::ofstream(dev + "/class") << "0x120000\n";
  std::ofstream(dev + "/numa_node") << "1\n";
  env.set("GPUKIT_SYSFS_ROOT", bare);
  VendorInventory absent = probe_amd(5);
  CHECK(absent.status.state == VendorState::driver_absent);
  CHECK(absent.status.reason == "amdgpu kernel module not loaded (no /sys/module/amdgpu)");
  CHECK(absent.source == "pci");
  REQUIRE(absent.gpus.size() == 1);
  CHECK(absent.gpus[0].source == "pci");
  CHECK(absent.gpus[0].pci_bus_id == "0000:05:00.0");
  CHECK(absent.gpus[0].pci_device_id == "0x74a1");
  CHECK(absent.gpus[0].name == "AMD GPU 0x74a1");
  CHECK(absent.gpus[0].numa_node == 1);
  CHECK(absent.gpus[0].gfx_target == "");

  std::filesystem::create_directories(bare + "/sys/module/amdgpu");
  VendorInventory no_kfd = probe_amd(5);
  CHECK(no_kfd.status.state == VendorState::driver_absent);
  CHECK(no_kfd.status.reason == "amdgpu loaded but no KFD topology (/sys/class/kfd)");

  // The MI250X tree without /dev/kfd, as in a container started without the device.
  std::string nodev = test::temp_dir();
  std::string tree = test::fixture("sysfs/amd_mi250x");
  for (const char* part : {"sys", "proc", "etc"})
    std::filesystem::create_directory_symlink(tree + "/" + part, nodev + "/" + part);
  env.set("GPUKIT_SYSFS_ROOT", nodev);
  VendorInventory denied = probe_amd(5);
  CHECK(denied.status.state == VendorState::permission_denied);
  CHECK(denied.status.reason == "/dev/kfd: No such file or directory");
  CHECK(denied.gpus.size() == 2);  // still listed
}

TEST_CASE("amd: this machine's probe is consistent") {
  ScopedEnvironment env;
  env.set("GPUKIT_SYSFS_ROOT", std::nullopt);
  VendorInventory inv = probe_amd(5);
  CHECK(inv.vendor == "amd");
  if (inv.status.state == VendorState::no_gpu) CHECK(inv.gpus.empty());
  if (inv.status.state != VendorState::ok) CHECK_FALSE(inv.status.reason.empty());
  for (const auto& g : inv.gpus) {
    CHECK(g.vendor == "amd");
    CHECK_FALSE(g.pci_bus_id.empty());
  }
}
