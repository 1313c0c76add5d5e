#include <doctest/doctest.h>

#include "probe/inventory.hpp"

using namespace gpukit;

namespace {

VendorInventory nvidia_with(std::vector<GpuRecord> gpus, VendorState state = VendorState::ok) {
  VendorInventory v;
  v.vendor = "nvidia";
  v.status.state = state;
  v.source = "nvml";
  v.driver_version = make_version("550.54.14");
  v.cuda_version = make_version("12.4");
  v.gpus = std::move(gpus);
  return v;
}

VendorInventory absent(const std::string& vendor) {
  VendorInventory v;
  v.vendor = vendor;
  v.status = {VendorState::driver_absent, "libnvidia-ml.so.1: cannot open shared object file"};
  return v;
}

PciDevice pci(const std::string& bus, const std::string& vendor, const std::string& device, const std::string& driver) {
  PciDevice d;
  d.bus_id = bus;
  d.vendor = vendor;
  d.device_id = device;
  d.driver = driver;
  d.numa_node = 1;
  d.local_cpus = "8-15";
  d.max_link_generation = 5;
  d.max_link_width = 16;
  return d;
}

}  // namespace

TEST_CASE("inventory: no driver and nothing on PCI is no_gpu without a reason") {
  Inventory inv = assemble_inventory({absent("nvidia"), absent("amd")}, {});
  CHECK(inv.gpus.empty());
  CHECK(inv.drivers["nvidia"]["status"] == "no_gpu");
  CHECK(inv.drivers["nvidia"]["reason"].is_null());
  CHECK(inv.drivers["amd"]["status"] == "no_gpu");
  CHECK_FALSE(inv.drivers.contains("intel"));
}

TEST_CASE("inventory: a GPU on PCI without a driver is listed, not allocatable, and explains the status") {
  Inventory inv = assemble_inventory({absent("nvidia"), absent("amd")}, {pci("0000:17:00.0", "nvidia", "0x2330", "")});
  REQUIRE(inv.gpus.size() == 1);
  const json& g = inv.gpus[0];
  CHECK(g["name"] == "NVIDIA device 0x2330");
  CHECK(g["driver_loaded"] == false);
  CHECK(g["allocatable"] == false);
  CHECK(g["source"] == "pci");
  CHECK(g["uuid"].is_null());
  CHECK(g["numa_node"] == 1);
  CHECK(g["notes"][0] == "no kernel driver is bound to this device");
  CHECK(inv.drivers["nvidia"]["status"] == "driver_absent");
  CHECK(inv.drivers["nvidia"]["reason"] ==
        "1 NVIDIA GPU(s) on PCI but no driver: libnvidia-ml.so.1: cannot open shared object file");
  CHECK(inv.drivers["nvidia"]["gpu_count"] == 1);
}

TEST_CASE("inventory: PCI fills what the vendor library left out, never what it gave") {
  GpuRecord g;
  g.vendor = "nvidia";
  g.name = "NVIDIA H100 80GB HBM3";
  g.uuid = "GPU-3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
  g.pci_bus_id = "00000000:17:00.0";
  g.pcie.max_generation = 4;  // the library's word wins
  Inventory inv = assemble_inventory({nvidia_with({g})}, {pci("0000:17:00.0", "nvidia", "0x2330", "nvidia")});
  REQUIRE(inv.gpus.size() == 1);  // the same device, not listed twice
  const json& e = inv.gpus[0];
  CHECK(e["pci_bus_id"] == "0000:17:00.0");
  CHECK(e["numa_node"] == 1);
  CHECK(e["local_cpus"] == "8-15");
  CHECK(e["pci_device_id"] == "0x2330");
  CHECK(e["pcie"]["max_generation"] == 4);
  CHECK(e["pcie"]["max_width"] == 16);
  CHECK(e["driver_loaded"] == true);
  CHECK(inv.drivers["nvidia"]["status"] == "ok");
  CHECK(inv.drivers["nvidia"]["cuda_version"]["value"] == 12040);
  CHECK(inv.drivers["nvidia"]["driver_version"]["parts"] == json::array({550, 54, 14}));
}

TEST_CASE("inventory: a MIG parent with instances is not allocatable, and unknown values stay null") {
  GpuRecord g;
  g.vendor = "nvidia";
  g.name = "NVIDIA A100-SXM4-40GB";
  g.uuid = "GPU-a";
  g.mig_mode = "enabled";
  MigInstance m;
  m.uuid = "MIG-b";
  m.profile = "1g.5gb";
  g.mig_instances = {m};
  GpuRecord plain = g;
  plain.uuid = "GPU-c";
  plain.mig_mode = "disabled";
  plain.mig_instances.clear();
  Inventory inv = assemble_inventory({nvidia_with({g, plain})}, {});
  CHECK(inv.gpus[0]["allocatable"] == false);
  CHECK(inv.gpus[0]["mig"]["instances"][0]["parent_uuid"] == "GPU-a");
  CHECK(inv.gpus[0]["mig"]["instances"][0]["memory_bytes"].is_null());
  CHECK(inv.gpus[1]["allocatable"] == true);
  CHECK(inv.gpus[1]["memory_bytes"].is_null());
  CHECK(inv.gpus[1]["compute_capability"].is_null());
}

TEST_CASE("inventory: Intel GPUs come from PCI alone") {
  Inventory inv = assemble_inventory({absent("nvidia"), absent("amd")},
                                     {pci("0000:03:00.0", "intel", "0x0bd5", "i915")});
  CHECK(inv.drivers["intel"]["status"] == "ok");
  CHECK(inv.drivers["intel"]["source"] == "pci");
  CHECK(inv.gpus[0]["notes"][0] == "bound to kernel driver 'i915', not reported by the vendor library");
  Inventory unbound = assemble_inventory({absent("nvidia"), absent("amd")}, {pci("0000:03:00.0", "intel", "0x0bd5", "")});
  CHECK(unbound.drivers["intel"]["status"] == "driver_absent");
}
