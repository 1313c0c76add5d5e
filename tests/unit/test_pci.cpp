#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_support.hpp"
#include "vendors/pci/pci.hpp"

using namespace gpukit;

namespace {

class FixtureRoot {
 public:
  explicit FixtureRoot(const std::string& path) { setenv("GPUKIT_SYSFS_ROOT", path.c_str(), 1); }
  ~FixtureRoot() { unsetenv("GPUKIT_SYSFS_ROOT"); }
};

void put(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text << "\n";
}

// One PCI function under <root>/sys/bus/pci/devices/<bus_id>.
void add_device(const std::string& root, const std::string& bus_id, const std::string& vendor, const std::string& device,
                const std::string& klass, const std::string& speed, const std::string& width) {
  std::string dir = root + "/sys/bus/pci/devices/" + bus_id;
  put(dir + "/vendor", vendor);
  put(dir + "/device", device);
  put(dir + "/class", klass);
  put(dir + "/numa_node", "-1");
  put(dir + "/max_link_speed", speed);
  put(dir + "/current_link_speed", speed);
  put(dir + "/max_link_width", width);
  put(dir + "/current_link_width", width);
}

}  // namespace

TEST_CASE("pci: bus ids are normalised to sysfs form") {
  CHECK(normalize_bus_id("00000000:17:00.0") == "0000:17:00.0");
  CHECK(normalize_bus_id("0000:C1:00.0") == "0000:c1:00.0");
  CHECK(normalize_bus_id("17:00.0") == "0000:17:00.0");
  CHECK(normalize_bus_id("00010000:01:00.0") == "10000:01:00.0");
  CHECK(normalize_bus_id(" 0001:02:00.1\n") == "0001:02:00.1");
}

TEST_CASE("pci: an NVIDIA H100 with no driver bound") {
  FixtureRoot root(test::fixture("sysfs/pci_no_driver"));
  auto devices = scan_gpu_pci_devices();
  REQUIRE(devices.size() == 1);  // the Intel Ethernet controller (class 0x02) is no GPU
  const PciDevice& d = devices[0];
  CHECK(d.bus_id == "0000:17:00.0");
  CHECK(d.vendor == "nvidia");
  CHECK(d.vendor_id == "0x10de");
  CHECK(d.device_id == "0x2330");
  CHECK(d.class_code == "0x030200");
  CHECK(d.driver == "");
  CHECK(d.numa_node == 0);
  CHECK(d.local_cpus == "0-3,8-11");
  CHECK(d.max_link_generation == 5);
  CHECK(d.current_link_generation == 5);
  CHECK(d.max_link_width == 16);
  CHECK(d.current_link_width == 16);

  auto same = pci_device("00000000:17:00.0");
  REQUIRE(same.has_value());
  CHECK(same->device_id == "0x2330");
  auto nic = pci_device("0000:31:00.0");  // any device by address, GPU or not
  REQUIRE(nic.has_value());
  CHECK(nic->driver == "ice");
  CHECK(nic->vendor == "intel");
  CHECK(nic->numa_node == 1);
  CHECK(nic->max_link_generation == 4);
  CHECK(nic->max_link_width == 8);
  CHECK_FALSE(pci_device("0000:99:00.0").has_value());
}

TEST_CASE("pci: vendors, classes, link speeds and unknown values") {
  std::string root = test::temp_dir();
  FixtureRoot fixture(root);
  add_device(root, "0000:01:00.0", "0x1002", "0x74a1", "0x120000", "2.5 GT/s PCIe", "1");
  add_device(root, "0000:02:00.0", "0x8086", "0x0bd5", "0x038000", "5.0 GT/s PCIe", "4");
  add_device(root, "0000:00:1f.0", "0x8086", "0xa1c1", "0x060100", "Unknown", "0");  // ISA bridge
  add_device(root, "0000:03:00.0", "0x10de", "0x2901", "0x030200", "8.0 GT/s PCIe", "255");
  add_device(root, "0000:04:00.0", "0x10de", "0x22a3", "0x068000", "64.0 GT/s PCIe", "16");  // NVSwitch bridge
  add_device(root, "0000:05:00.0", "0x1a03", "0x2000", "0x030000", "Unknown", "1");         // BMC VGA (ASPEED)
  auto devices = scan_gpu_pci_devices();
  REQUIRE(devices.size() == 3);
  CHECK(devices[0].bus_id == "0000:01:00.0");
  CHECK(devices[0].vendor == "amd");
  CHECK(devices[0].max_link_generation == 1);
  CHECK(devices[0].max_link_width == 1);
  CHECK_FALSE(devices[0].numa_node.has_value());  // -1
  CHECK(devices[0].local_cpus == "");
  CHECK(devices[1].vendor == "intel");
  CHECK(devices[1].max_link_generation == 2);
  CHECK(devices[2].vendor == "nvidia");
  CHECK(devices[2].max_link_generation == 3);
  CHECK_FALSE(devices[2].max_link_width.has_value());  // 255: not trained

  put(root + "/sys/bus/pci/devices/0000:03:00.0/max_link_speed", "16 GT/s");
  CHECK(pci_device("0000:03:00.0")->max_link_generation == 4);
  put(root + "/sys/bus/pci/devices/0000:03:00.0/max_link_speed", "Unknown");
  CHECK_FALSE(pci_device("0000:03:00.0")->max_link_generation.has_value());
  put(root + "/sys/bus/pci/devices/0000:03:00.0/max_link_speed", "32.0 GT/s PCIe");
  CHECK(pci_device("0000:03:00.0")->max_link_generation == 5);

  std::filesystem::create_directories(root + "/sys/bus/pci/drivers/nvidia");
  std::filesystem::create_directory_symlink("../../../../bus/pci/drivers/nvidia",
                                            root + "/sys/bus/pci/devices/0000:03:00.0/driver");
  CHECK(pci_device("0000:03:00.0")->driver == "nvidia");
}

TEST_CASE("pci: no PCI tree means no devices") {
  FixtureRoot root(test::temp_dir());
  CHECK(scan_gpu_pci_devices().empty());
}

TEST_CASE("pci: this machine's scan lists only GPU-class devices of the three vendors") {
  unsetenv("GPUKIT_SYSFS_ROOT");
  for (const auto& d : scan_gpu_pci_devices()) {
    CHECK((d.vendor == "nvidia" || d.vendor == "amd" || d.vendor == "intel"));
    CHECK((d.class_code.rfind("0x03", 0) == 0 || d.class_code.rfind("0x12", 0) == 0));
    CHECK(normalize_bus_id(d.bus_id) == d.bus_id);
  }
}
