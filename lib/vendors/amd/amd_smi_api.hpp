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

}  // namespace gpukit::amdsmi
