// The scripted machine behind the fake libnvidia-ml.so.1 and libcuda.so.1: what
// GPUKIT_FAKE_MACHINE describes (README.md), loaded once per nvmlInit/cuInit.
#pragma once

#include <chrono>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../curve.hpp"

namespace gpukit::fake {

struct Machine;
struct GpuSpec;
struct MigSpec;

// What an nvmlDevice_t points to.
struct Device {
  const Machine* machine = nullptr;
  const GpuSpec* gpu = nullptr;
  const MigSpec* mig = nullptr;  // set for a MIG instance's handle
};

using Errors = std::map<std::string, std::string>;  // entry point -> status name

struct MigSpec {
  unsigned int index = 0;  // slot under the parent (nvmlDeviceGetMigDeviceHandleByIndex)
  std::string uuid, name;
  unsigned int gpu_instance_id = 0, compute_instance_id = 0;
  unsigned int multiprocessors = 0, gpu_slices = 0, compute_slices = 0;
  unsigned long long memory_bytes = 0;
  Curve memory_used_bytes;
  Errors errors;
  Device* handle = nullptr;
};

struct TelemetrySpec {
  Curve power_w, gpu_utilization_pct, memory_utilization_pct, memory_used_bytes;
  Curve sm_clock_mhz, memory_clock_mhz, temperature_c;
  double energy_j = 0;                       // counter value at load time
  std::optional<double> energy_reset_at_s;   // the counter restarts from 0 then
  unsigned long long throttle_reasons = 0;
  Curve ecc_corrected, ecc_uncorrected;      // volatile counters (a step: [[0, 0], [0.5, 0], [0.51, 3]])
  std::optional<double> lost_at_s;           // GPU_IS_LOST from then on
};

// What the health entry points answer (fake_nvml_health.cpp); the defaults are a healthy GPU.
struct HealthSpec {
  Curve remapped_correctable, remapped_uncorrectable;  // counts: curves, so that a job sees them change
  bool remap_pending = false, remap_failure = false;
  Curve retired_single_bit, retired_double_bit;
  bool retirement_pending = false;
  bool inforom_valid = true, persistence_mode = true;
  unsigned int pcie_replay_counter = 0;
  unsigned long long ecc_aggregate_uncorrected = 0;
  std::optional<std::string> fabric_state;  // "not_started", "in_progress", "completed"; none: NOT_SUPPORTED
  std::string fabric_status = "SUCCESS";
  std::vector<unsigned long long> xid_events;  // delivered to an event set registered for Xid errors
};

// An error event (nvmlDeviceRegisterEvents, nvmlEventSetWait): delivered to a set
// registered for its type before `at_s`, once `at_s` has passed.
struct EventSpec {
  double at_s = 0;
  unsigned long long type = 0;          // nvmlEventType* bit
  unsigned long long data = 0;          // the Xid
  unsigned int gpu_instance_id = 0xFFFFFFFFu, compute_instance_id = 0xFFFFFFFFu;
};

struct GpuSpec {
  std::string name, uuid;
  unsigned int domain = 0, bus = 0, device = 0, function = 0;
  unsigned int pci_device_id = 0;       // 16-bit device id
  unsigned int pci_subsystem_id = 0;
  unsigned long long memory_bytes = 0;
  int cc_major = 0, cc_minor = 0;
  unsigned int multiprocessors = 0;
  unsigned int max_sm_clock_mhz = 0, max_memory_clock_mhz = 0, memory_bus_width_bits = 0;
  bool ecc = false;
  double power_limit_w = 0;
  std::string compute_mode = "default";
  unsigned int pcie_max_generation = 0, pcie_max_width = 0, pcie_current_generation = 0, pcie_current_width = 0;
  std::string mig = "unsupported";  // "unsupported", "disabled", "enabled"
  unsigned int max_mig_devices = 7;
  std::vector<MigSpec> mig_instances;
  Errors errors;
  TelemetrySpec telemetry;
  HealthSpec health;
  std::vector<EventSpec> events;
  unsigned long long event_types = 0;   // nvmlDeviceGetSupportedEventTypes
  Device* handle = nullptr;
};

struct ProcessSpec {
  unsigned int pid = 0;
  std::string device;  // GPU-… or MIG-… UUID
  double start_s = 0, end_s = std::numeric_limits<double>::infinity();
  unsigned long long used_memory_bytes = 0;
  Curve sm_utilization_pct, memory_utilization_pct;
};

struct Machine {
  std::string path;
  std::string driver_version, nvml_version;
  int cuda_driver_version = 0;
  std::string init_error, cuda_init_error;  // status names, empty for success
  std::string hang;                         // an entry point that never returns
  Errors errors;
  std::vector<GpuSpec> gpus;
  std::vector<int> cuda_order;              // NVML indices in CUDA's order
  std::vector<ProcessSpec> processes;
  double process_sample_period_s = 0.1;

  std::chrono::steady_clock::time_point origin;
  long long origin_wall_us = 0;  // CLOCK_REALTIME at load, for process sample time stamps
  std::deque<Device> devices;    // stable addresses: the handles

  double elapsed_s() const;
  Machine() = default;
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
};

// Reads and checks the file GPUKIT_FAKE_MACHINE names; throws std::runtime_error
// naming the file and the problem.
std::unique_ptr<Machine> load_machine();

// "nvmlDeviceGetCount_v2" -> "nvmlDeviceGetCount".
std::string base_name(const std::string& entry_point);

// Status names of the two APIs ("NOT_SUPPORTED" -> 3 / 801); throw on an unknown name.
int nvml_status(const std::string& name);
int cuda_status(const std::string& name);

// Both versions of an entry point's name are looked up: `errors` may name either.
const std::string* find_error(const Errors& errors, const std::string& entry_point);

// The scripted hang: sleeps until the process ends.
[[noreturn]] void hang_forever();

}  // namespace gpukit::fake
