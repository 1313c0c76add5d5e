// The interface every compute backend implements (CPU built in, CUDA and HIP as
// plugins). The benchmarks program against Device only; they never see a GPU
// runtime. This header is compiled by g++, nvcc and hipcc: it must not need
// std::expected, nlohmann/json or CLI11.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

// Bumped whenever this header (or kernels/names.hpp) changes in a way that a
// plugin built against the old one would misread.
inline constexpr std::uint32_t backend_abi_version = 2;

// What a device is, as its runtime reports it. Zero or empty means "not known".
struct DeviceInfo {
  std::string backend;              // "cpu", "cuda", "hip"
  std::string uuid;                 // runtime UUID, "GPU-xxxxxxxx-..." ("" when unknown); "cpu" for the CPU
  std::string name;
  std::string pci_bus_id;           // "0000:17:00.0", lowercase; empty for the CPU
  int ordinal = 0;                  // the runtime's device ordinal
  std::string arch;                 // "sm_90", "gfx90a", "x86-64-v4"
  int cc_major = 0, cc_minor = 0;   // NVIDIA compute capability
  std::uint64_t memory_bytes = 0;
  std::uint64_t llc_bytes = 0;      // last-level cache: GPU L2, CPU L3 (all of them together)
  int compute_units = 0;            // SMs, CUs, CPU cores used
  int max_clock_mhz = 0;
  int memory_clock_mhz = 0;
  int memory_bus_width_bits = 0;
  int numa_node = -1;               // host NUMA node closest to the device; -1: unknown or several
  int vector_bits = 0;              // CPU: widest vector registers the kernels use
  int fp64_flops_per_cycle = 0;     // CPU: per core, all FMA pipes together
  std::uint64_t parallel_items = 0; // work items that fill the device (GPU: SMs x resident threads)
  std::string runtime_version;      // the runtime the backend carries ("13.0")
  std::string driver_version;       // what the driver supports ("12.4") or its own version
  std::string vendor_blas;          // the vendor GEMM the hep_mlp_blas_* kernels use: "cuBLAS 13.1.0 (path)"
  std::string vendor_blas_missing;  // or why there is none
  std::vector<std::string> notes;   // facts that could not be read and why
};

enum class CopyKind : int { host_to_device = 0, device_to_host = 1, device_to_device = 2 };

// Arguments of every kernel (kernels/names.hpp says which fields each one reads).
// Pointers are device memory unless a kernel says otherwise.
struct KernelArgs {
  void* out = nullptr;
  const void* in0 = nullptr;
  const void* in1 = nullptr;
  std::uint64_t n = 0;             // elements or work items
  double scalar = 0;
  double scalar2 = 0;
  std::uint64_t seed = 0;
  std::uint64_t iterations = 0;
  void* scratch = nullptr;         // partial sums, error counters
  std::uint64_t scratch_elements = 0;
};

// One device. Work is enqueued on a stream (0 .. streams()-1) and runs
// asynchronously on GPUs; the CPU backend runs it before returning. Errors name
// the call and the device.
class Device {
 public:
  virtual ~Device() = default;
  virtual const DeviceInfo& info() const = 0;

  // Why `kernel` cannot run here ("" when it can): a kernel the backend lacks or
  // that this device's hardware does not have (BF16 before sm_80, ...).
  virtual std::string unavailable_kernel(const std::string& kernel) const = 0;

  virtual Result<void*> allocate(std::size_t bytes) = 0;  // device memory
  virtual void release(void* pointer) = 0;
  virtual Result<std::uint64_t> free_memory() = 0;        // bytes that can still be allocated

  // Page-locks host memory for DMA (nothing to do on the CPU backend).
  virtual Status pin_host(void* pointer, std::size_t bytes) = 0;
  virtual void unpin_host(void* pointer) = 0;

  virtual int streams() const = 0;
  virtual Status copy(void* dst, const void* src, std::size_t bytes, CopyKind kind, int stream) = 0;
  virtual Status launch(const std::string& kernel, const KernelArgs& args, int stream) = 0;
  virtual Status synchronize() = 0;

  // Seconds of device time from before to after the work `enqueue` issues on any
  // stream (device events; host clock on the CPU). With `hold`, the device is
  // held back until everything is enqueued, so that host enqueue cost is not
  // measured (nvbandwidth's spin kernel); use it for many small operations.
  virtual Result<double> time_region(const std::function<Status()>& enqueue, bool hold) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual std::vector<std::shared_ptr<Device>> devices() = 0;
};

}  // namespace gpukit

// The plugin entry point. The host reads abi_version first and touches nothing
// else when it differs.
extern "C" {
struct gpukit_backend_plugin {
  std::uint32_t abi_version;     // gpukit::backend_abi_version of the plugin's build
  const char* name;              // "cuda"
  const char* toolkit_version;   // the toolkit it was built with ("CUDA 13.0")
  // A new backend, or nullptr with a one-line reason in `error` (no driver, no
  // device, driver older than the toolkit).
  gpukit::Backend* (*create)(char* error, std::size_t error_size);
};
typedef const gpukit_backend_plugin* (*gpukit_backend_plugin_entry)();
}

#define GPUKIT_BACKEND_PLUGIN_SYMBOL "gpukit_backend_plugin_v1"
