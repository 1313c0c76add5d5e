// The part of the amd_smi C API (amdsmi.h, ROCm 6.x) that gpukit calls, declared
// here so that no ROCm header is needed to build. Shared with the fake library in
// tests/fakes/amdsmi, which fills these layouts.
//
// amd_smi's structs grew between ROCm releases (amdsmi_asic_info_t's market_name
// went from 64 to 256 bytes, reserved tails changed), so gpukit reads only the
// first member of each struct, whose offset never moved, from an OutBuffer large
// enough that no layout can write past it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

extern "C" {
typedef std::uint32_t amdsmi_status_t;  // an enum in amdsmi.h, 32 bits
typedef void* amdsmi_socket_handle;
typedef void* amdsmi_processor_handle;
}

namespace gpukit::amdsmi {

inline constexpr amdsmi_status_t status_success = 0;        // AMDSMI_STATUS_SUCCESS
inline constexpr amdsmi_status_t status_not_supported = 2;  // AMDSMI_STATUS_NOT_SUPPORTED
inline constexpr amdsmi_status_t status_init_error = 18;    // AMDSMI_STATUS_INIT_ERROR
inline constexpr std::uint64_t init_amd_gpus = 1u << 1;      // AMDSMI_INIT_AMD_GPUS
inline constexpr std::uint32_t memory_type_vram = 0;         // AMDSMI_MEM_TYPE_VRAM

// amdsmi_bdf_t: one 64-bit word, function:3 device:5 bus:8 domain:48 from bit 0.
struct Bdf {
  std::uint64_t as_uint = 0;
  std::uint32_t function() const { return static_cast<std::uint32_t>(as_uint & 0x7); }
  std::uint32_t device() const { return static_cast<std::uint32_t>((as_uint >> 3) & 0x1f); }
  std::uint32_t bus() const { return static_cast<std::uint32_t>((as_uint >> 8) & 0xff); }
  std::uint64_t domain() const { return as_uint >> 16; }
  static Bdf make(std::uint64_t domain, std::uint32_t bus, std::uint32_t device, std::uint32_t function) {
    return {(domain << 16) | (static_cast<std::uint64_t>(bus & 0xff) << 8) | ((device & 0x1fu) << 3) | (function & 0x7u)};
  }
  // "0000:c1:00.0", the form KFD and sysfs use.
  std::string text() const {
    char bus_id[40];
    std::snprintf(bus_id, sizeof bus_id, "%04llx:%02x:%02x.%x", static_cast<unsigned long long>(domain()), bus(),
                  device(), function());
    return bus_id;
  }
};

// First members, at offset 0:
//   amdsmi_asic_info_t:      char market_name[256]  (64 before ROCm 6.1)
//   amdsmi_driver_info_t:    char driver_version[64] (256 in later releases)
//   amdsmi_power_cap_info_t: uint64_t power_cap, microwatts
inline constexpr std::size_t market_name_size = 256;
inline constexpr std::size_t driver_version_size = 64;

// Where the library writes one of those structs; zeroed, so that a string the
// library leaves short stays terminated.
struct OutBuffer {
  alignas(16) unsigned char bytes[8192] = {};

  std::string string_at_start(std::size_t max) const {
    const char* s = reinterpret_cast<const char*>(bytes);
    return std::string(s, strnlen(s, max));
  }
  std::uint64_t u64_at_start() const {
    std::uint64_t v;
    std::memcpy(&v, bytes, sizeof v);
    return v;
  }
};

// Function types, resolved with dlsym (declarations of amdsmi.h).
using init_fn = amdsmi_status_t(std::uint64_t init_flags);
using shut_down_fn = amdsmi_status_t();
using status_code_to_string_fn = amdsmi_status_t(amdsmi_status_t status, const char** text);
using get_socket_handles_fn = amdsmi_status_t(std::uint32_t* count, amdsmi_socket_handle* handles);
using get_processor_handles_fn = amdsmi_status_t(amdsmi_socket_handle socket, std::uint32_t* count,
                                                 amdsmi_processor_handle* handles);
using get_gpu_device_bdf_fn = amdsmi_status_t(amdsmi_processor_handle handle, Bdf* bdf);
using get_gpu_asic_info_fn = amdsmi_status_t(amdsmi_processor_handle handle, void* info);
using get_gpu_memory_total_fn = amdsmi_status_t(amdsmi_processor_handle handle, std::uint32_t type, std::uint64_t* total);
using get_gpu_driver_info_fn = amdsmi_status_t(amdsmi_processor_handle handle, void* info);
using get_power_cap_info_fn = amdsmi_status_t(amdsmi_processor_handle handle, std::uint32_t sensor, void* info);

// --- Telemetry (amdsmi.h of ROCm 6.2 and later; layouts pinned below) ---

// amdsmi_status_t values that telemetry names or tests for.
inline constexpr amdsmi_status_t status_inval = 1;              // AMDSMI_STATUS_INVAL
inline constexpr amdsmi_status_t status_out_of_resources = 15;  // AMDSMI_STATUS_OUT_OF_RESOURCES
inline constexpr amdsmi_status_t status_not_init = 32;          // AMDSMI_STATUS_NOT_INIT
inline constexpr amdsmi_status_t status_insufficient_size = 41; // AMDSMI_STATUS_INSUFFICIENT_SIZE

inline constexpr std::uint32_t clk_type_gfx = 0;         // AMDSMI_CLK_TYPE_GFX (= AMDSMI_CLK_TYPE_SYS)
inline constexpr std::uint32_t clk_type_mem = 4;         // AMDSMI_CLK_TYPE_MEM
inline constexpr std::uint32_t temperature_edge = 0;     // AMDSMI_TEMPERATURE_TYPE_EDGE
inline constexpr std::uint32_t temperature_hotspot = 1;  // AMDSMI_TEMPERATURE_TYPE_HOTSPOT
inline constexpr std::uint32_t temp_current = 0;         // AMDSMI_TEMP_CURRENT

// amdsmi_power_info_t. Watts; a member the ASIC does not report holds all ones
// (MI200 and earlier fill only average_socket_power, MI300 current_socket_power).
struct PowerInfo {
  std::uint64_t socket_power;
  std::uint32_t current_socket_power;
  std::uint32_t average_socket_power;
  std::uint64_t gfx_voltage, soc_voltage, mem_voltage;  // mV
  std::uint32_t power_limit;                            // W
  std::uint64_t reserved[18];
};
static_assert(offsetof(PowerInfo, current_socket_power) == 8 && offsetof(PowerInfo, average_socket_power) == 12 &&
              offsetof(PowerInfo, power_limit) == 40 && sizeof(PowerInfo) == 192);

// amdsmi_engine_usage_t, percent.
struct EngineUsage {
  std::uint32_t gfx_activity, umc_activity, mm_activity;
  std::uint32_t reserved[13];
};
static_assert(sizeof(EngineUsage) == 64);

// amdsmi_clk_info_t, MHz.
struct ClkInfo {
  std::uint32_t clk, min_clk, max_clk;
  std::uint8_t clk_locked, clk_deep_sleep;
  std::uint32_t reserved[4];
};
static_assert(offsetof(ClkInfo, clk_locked) == 12 && offsetof(ClkInfo, reserved) == 16 && sizeof(ClkInfo) == 32);

// amdsmi_error_count_t.
struct ErrorCount {
  std::uint64_t correctable_count, uncorrectable_count, deferred_count;
  std::uint64_t reserved[5];
};
static_assert(sizeof(ErrorCount) == 64);

// amdsmi_proc_info_t (AMDSMI_MAX_STRING_LENGTH = 256). mem and memory_usage in bytes;
// engine_usage is cumulative busy time in ns, not a percentage.
inline constexpr std::size_t max_string_length = 256;
struct ProcInfo {
  char name[max_string_length];
  std::uint32_t pid;
  std::uint64_t mem;
  struct {
    std::uint64_t gfx, enc;
    std::uint32_t reserved[12];
  } engine_usage;
  struct {
    std::uint64_t gtt_mem, cpu_mem, vram_mem;
    std::uint32_t reserved[10];
  } memory_usage;
  char container_name[max_string_length];
  std::uint32_t cu_occupancy;
  std::uint32_t evicted_time;  // ms
  std::uint32_t reserved[10];
};
static_assert(offsetof(ProcInfo, pid) == 256 && offsetof(ProcInfo, mem) == 264 && offsetof(ProcInfo, engine_usage) == 272 &&
              offsetof(ProcInfo, memory_usage) == 336 && offsetof(ProcInfo, container_name) == 400 &&
              offsetof(ProcInfo, cu_occupancy) == 656 && sizeof(ProcInfo) == 704);

using get_power_info_fn = amdsmi_status_t(amdsmi_processor_handle handle, PowerInfo* info);
// Energy accumulator in units of `resolution` microjoules; timestamp in ns.
using get_energy_count_fn = amdsmi_status_t(amdsmi_processor_handle handle, std::uint64_t* energy, float* resolution,
                                            std::uint64_t* timestamp);
using get_gpu_activity_fn = amdsmi_status_t(amdsmi_processor_handle handle, EngineUsage* info);
using get_gpu_memory_usage_fn = amdsmi_status_t(amdsmi_processor_handle handle, std::uint32_t type, std::uint64_t* used);
using get_clock_info_fn = amdsmi_status_t(amdsmi_processor_handle handle, std::uint32_t clk_type, ClkInfo* info);
// Degrees Celsius (amd_smi divides rocm_smi's millidegrees by 1000).
using get_temp_metric_fn = amdsmi_status_t(amdsmi_processor_handle handle, std::uint32_t sensor, std::uint32_t metric,
                                           std::int64_t* value);
using get_gpu_total_ecc_count_fn = amdsmi_status_t(amdsmi_processor_handle handle, ErrorCount* count);
// *max_processes: capacity in, number of processes out; list may be null to ask the count.
using get_gpu_process_list_fn = amdsmi_status_t(amdsmi_processor_handle handle, std::uint32_t* max_processes,
                                                ProcInfo* list);

}  // namespace gpukit::amdsmi
