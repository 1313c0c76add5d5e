// The GPU backend, written once over gpukit::gpurt: the runtime shim of the
// plugin that includes it (cuda/runtime_shim.hpp for gpukit-cuda.so,
// hip/runtime_shim.hpp for gpukit-hip.so). Include the shim first.
#pragma once

#include <atomic>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "compute/backend.hpp"
#include "compute/kernels/gpu_kernels.cuh"
#include "bench/hep/em_shower.hpp"  // the calorimeter (header only)
#include "bench/hep/me_eemumu.hpp"  // the electroweak inputs (header only)
#include "bench/hep/track_fit.hpp"  // the barrel (header only)
#include "compute/kernels/hep/hep_kernels.cuh"
#include "compute/kernels/names.hpp"
#include "compute/gpu/vendor_blas.hpp"

namespace gpukit::gpu_backend {

namespace rt = gpukit::gpurt;
namespace kg = gpukit::kernels::gpu;
using u64 = std::uint64_t;

inline constexpr int stream_count = 2;
// The hold kernel gives up after this long, so that an enqueue that blocks
// (a full launch queue) cannot wedge the device.
inline constexpr double hold_limit_s = 2.0;

class GpuDevice final : public Device {
 public:
  // blas: the vendor GEMM, or null and why not in blas_missing.
  static Result<std::shared_ptr<GpuDevice>> open(int ordinal, int driver_version,
                                                 std::shared_ptr<vendor_blas::Library> blas,
                                                 const std::string& blas_missing) {
    std::shared_ptr<GpuDevice> d(new GpuDevice(ordinal));
    d->blas_ = std::move(blas);
    d->info_.vendor_blas = d->blas_ ? d->blas_->describe() : "";
    d->info_.vendor_blas_missing = d->blas_ ? "" : blas_missing;
    if (auto st = d->init(driver_version); !st) return st.error();
    return d;
  }

  ~GpuDevice() override {
    if (rt::set_device(ordinal_) != rt::success) return;
    blas_handle_.reset();
    // Nothing to report from a destructor: the statuses are dropped on purpose.
    for (rt::event_t e : {start_, stop_, join_})
      if (e) (void)rt::event_destroy(e);
    for (rt::stream_t s : streams_)
      if (s) (void)rt::stream_destroy(s);
    if (flag_host_) (void)rt::host_free(flag_host_);
  }

  const DeviceInfo& info() const override { return info_; }

  std::string unavailable_kernel(const std::string& name) const override {
    if (name == kernel::fma_bf16) {
      if (!rt::has_bf16) return std::string("the ") + rt::backend_name + " plugin has no packed BF16 FMA (" +
                                rt::toolkit_version() + ")";
      if (info_.cc_major < rt::bf16_min_cc_major)
        return "BF16 arithmetic needs compute capability 8.0; this GPU has " + std::to_string(info_.cc_major) + "." +
               std::to_string(info_.cc_minor);
      return {};
    }
    if (name == kernel::hep_mlp_blas_fp32 || name == kernel::hep_mlp_blas_fp16 || name == kernel::hep_mlp_blas_bf16) {
      if (!blas_) return info_.vendor_blas_missing;
      if (name == kernel::hep_mlp_blas_bf16 && info_.cc_major < rt::bf16_min_cc_major)
        return "BF16 GEMM needs compute capability 8.0; this GPU has " + std::to_string(info_.cc_major) + "." +
               std::to_string(info_.cc_minor);
      return {};
    }
    for (const char* k : {kernel::fill_f64, kernel::random_f64, kernel::stream_copy, kernel::stream_mul,
                          kernel::stream_add, kernel::stream_triad, kernel::stream_dot, kernel::fma_fp64,
                          kernel::fma_fp32, kernel::fma_fp16, kernel::fma_int32, kernel::empty,
                          kernel::memtest_write, kernel::memtest_verify, kernel::hep_me_eemumu_fp64,
                          kernel::hep_me_eemumu_fp32, kernel::hep_em_shower_fp64, kernel::hep_em_shower_fp32,
                          kernel::hep_track_generate_fp64, kernel::hep_track_generate_fp32,
                          kernel::hep_track_fit_fp64, kernel::hep_track_fit_fp32, kernel::hep_mlp_fp32, kernel::hep_mlp_fp16, kernel::hep_mlp_bf16})
      if (name == k) return {};
    return std::string("the ") + rt::backend_name + " backend has no kernel '" + name + "'";
  }

  Result<void*> allocate(std::size_t bytes) override {
    if (auto st = select(); !st) return st.error();
    void* p = nullptr;
    if (auto st = check(rt::malloc(&p, bytes), "Malloc", std::to_string(bytes) + " bytes"); !st) return st.error();
    return p;
  }

  void release(void* p) override {
    if (p && select()) (void)rt::free(p);
  }

  Result<std::uint64_t> free_memory() override {
    if (auto st = select(); !st) return st.error();
    size_t free_bytes = 0, total = 0;
    if (auto st = check(rt::mem_get_info(&free_bytes, &total), "MemGetInfo"); !st) return st.error();
    return static_cast<std::uint64_t>(free_bytes);
  }

  Status pin_host(void* p, std::size_t bytes) override {
    if (auto st = select(); !st) return st;
    return check(rt::host_register(p, bytes), "HostRegister", std::to_string(bytes) + " bytes");
  }

  void unpin_host(void* p) override {
    if (select()) (void)rt::host_unregister(p);
  }

  int streams() const override { return stream_count; }

  Status copy(void* dst, const void* src, std::size_t bytes, CopyKind kind, int stream) override {
    if (auto st = select(); !st) return st;
    return check(rt::memcpy_async(dst, src, bytes, kind, stream_at(stream)), "MemcpyAsync",
                 std::to_string(bytes) + " bytes");
  }

  Status launch(const std::string& name, const KernelArgs& a, int stream) override {
    if (auto st = select(); !st) return st;
    rt::stream_t s = stream_at(stream);
    const u64 blocks = grid(a.n);
    auto* out = static_cast<double*>(a.out);
    const auto* x = static_cast<const double*>(a.in0);
    const auto* y = static_cast<const double*>(a.in1);
    const bool is_fma = name.rfind("fma_", 0) == 0;
    if (is_fma && a.iterations % kernels::fma_unroll != 0)
      return usage_error("iterations must be a multiple of " + std::to_string(kernels::fma_unroll), "launch " + name);
    if (a.n == 0) return {};
    if (name == kernel::fill_f64) {
      kg::fill_kernel<<<blocks, kg::block_size, 0, s>>>(out, a.n, a.scalar);
    } else if (name == kernel::random_f64) {
      kg::random_kernel<<<blocks, kg::block_size, 0, s>>>(out, a.n, a.seed, a.scalar, a.scalar2);
    } else if (name == kernel::stream_copy) {
      kg::copy_kernel<<<blocks, kg::block_size, 0, s>>>(out, x, a.n);
    } else if (name == kernel::stream_mul) {
      kg::mul_kernel<<<blocks, kg::block_size, 0, s>>>(out, x, a.scalar, a.n);
    } else if (name == kernel::stream_add) {
      kg::add_kernel<<<blocks, kg::block_size, 0, s>>>(out, x, y, a.n);
    } else if (name == kernel::stream_triad) {
      kg::triad_kernel<<<blocks, kg::block_size, 0, s>>>(out, x, y, a.scalar, a.n);
    } else if (name == kernel::stream_dot) {
      u64 dot_blocks = static_cast<u64>(info_.compute_units) * 8;
      if (dot_blocks > a.scratch_elements) dot_blocks = a.scratch_elements;
      if (dot_blocks == 0) return usage_error("stream_dot needs scratch space", "launch stream_dot");
      auto* partial = static_cast<double*>(a.scratch);
      kg::dot_kernel<<<dot_blocks, kg::dot_block_size, 0, s>>>(x, y, partial, a.n);
      kg::dot_finish_kernel<<<1, kg::dot_block_size, 0, s>>>(partial, dot_blocks, out);
    } else if (name == kernel::fma_fp64) {
      kg::fma_fp64_kernel<<<blocks, kg::block_size, 0, s>>>(out, a.n, a.scalar, a.scalar2, a.seed, a.iterations);
    } else if (name == kernel::fma_fp32) {
      kg::fma_fp32_kernel<<<blocks, kg::block_size, 0, s>>>(out, a.n, static_cast<float>(a.scalar),
                                                             static_cast<float>(a.scalar2), a.seed, a.iterations);
    } else if (name == kernel::fma_fp16) {
      kg::fma_packed_kernel<rt::half2><<<blocks, kg::block_size, 0, s>>>(
          out, a.n, static_cast<float>(a.scalar), static_cast<float>(a.scalar2), a.seed, a.iterations);
    } else if (name == kernel::fma_bf16) {
      if (auto why = unavailable_kernel(name); !why.empty()) return environment_error(why, "launch " + name);
      if (auto st = launch_bf16<rt::has_bf16>(a, blocks, s); !st) return st;
    } else if (name == kernel::fma_int32) {
      kg::fma_int32_kernel<<<blocks, kg::block_size, 0, s>>>(out, a.n, static_cast<std::uint32_t>(a.scalar),
                                                              static_cast<std::uint32_t>(a.scalar2), a.seed,
                                                              a.iterations);
    } else if (name == kernel::empty) {
      kg::empty_kernel<<<1, 1, 0, s>>>();
    } else if (name == kernel::hep_me_eemumu_fp64) {
      hep::me_eemumu_kernel<double><<<blocks, kg::block_size, 0, s>>>(a.seed, 0, a.n, a.scalar,
                                                                       hep::ew_parameters<double>(), out);
    } else if (name == kernel::hep_me_eemumu_fp32) {
      hep::me_eemumu_kernel<float><<<blocks, kg::block_size, 0, s>>>(
          a.seed, 0, a.n, static_cast<float>(a.scalar), hep::ew_parameters<float>(), static_cast<float*>(a.out));
    } else if (name == kernel::hep_em_shower_fp64) {
      hep::em_shower_kernel<double><<<blocks, kg::block_size, 0, s>>>(
          hep::shower_config<double>(a.scalar), a.seed, 0, a.n, out, static_cast<hep::ShowerTally<double>*>(a.scratch));
    } else if (name == kernel::hep_em_shower_fp32) {
      hep::em_shower_kernel<float><<<blocks, kg::block_size, 0, s>>>(
          hep::shower_config<float>(a.scalar), a.seed, 0, a.n, static_cast<float*>(a.out),
          static_cast<hep::ShowerTally<float>*>(a.scratch));
    } else if (name == kernel::hep_track_generate_fp64) {
      launch_track_generate<double>(a, blocks, s);
    } else if (name == kernel::hep_track_generate_fp32) {
      launch_track_generate<float>(a, blocks, s);
    } else if (name == kernel::hep_track_fit_fp64) {
      launch_track_fit<double>(a, blocks, s);
    } else if (name == kernel::hep_track_fit_fp32) {
      launch_track_fit<float>(a, blocks, s);
    } else if (name == kernel::hep_mlp_fp32) {
      launch_mlp<float>(a, s);
    } else if (name == kernel::hep_mlp_fp16) {
      launch_mlp<hep::Half>(a, s);
    } else if (name == kernel::hep_mlp_bf16) {
      launch_mlp<hep::BFloat16>(a, s);
    } else if (name == kernel::hep_mlp_blas_fp32 || name == kernel::hep_mlp_blas_fp16 ||
               name == kernel::hep_mlp_blas_bf16) {
      if (auto why = unavailable_kernel(name); !why.empty()) return environment_error(why, "launch " + name);
      return name == kernel::hep_mlp_blas_fp32   ? launch_mlp_blas<float>(a, s)
             : name == kernel::hep_mlp_blas_fp16 ? launch_mlp_blas<hep::Half>(a, s)
                                                 : launch_mlp_blas<hep::BFloat16>(a, s);
    } else if (name == kernel::memtest_write) {
      kg::memtest_write_kernel<<<blocks, kg::block_size, 0, s>>>(static_cast<u64*>(a.out), a.n, a.seed);
    } else if (name == kernel::memtest_verify) {
      kg::memtest_verify_kernel<<<blocks, kg::block_size, 0, s>>>(static_cast<const u64*>(a.out), a.n, a.seed,
                                                                   static_cast<unsigned long long*>(a.scratch));
    } else {
      return environment_error(unavailable_kernel(name), "launch " + name + " on " + label());
    }
    return check(rt::last_error(), "LaunchKernel", name);
  }

  Status synchronize() override {
    if (auto st = select(); !st) return st;
    for (rt::stream_t s : streams_)
      if (auto st = check(rt::stream_synchronize(s), "StreamSynchronize"); !st) return st;
    return {};
  }

  Result<double> time_region(const std::function<Status()>& enqueue, bool hold) override {
    std::lock_guard lock(timing_);
    if (auto st = select(); !st) return st.error();
    rt::stream_t s0 = streams_[0], s1 = streams_[1];
    if (hold) {
      *flag_host_ = 0;
      const long long cycles = static_cast<long long>(hold_limit_s * info_.max_clock_mhz * 1e6);
      kg::hold_kernel<<<1, 1, 0, s0>>>(flag_device_, cycles > 0 ? cycles : 4000000000LL);
      if (auto st = check(rt::last_error(), "LaunchKernel", "hold"); !st) return st.error();
    }
    if (auto st = check(rt::event_record(start_, s0), "EventRecord"); !st) return release_and(st.error());
    if (auto st = check(rt::stream_wait_event(s1, start_), "StreamWaitEvent"); !st) return release_and(st.error());
    if (auto st = enqueue(); !st) return release_and(st.error());
    if (auto st = check(rt::event_record(join_, s1), "EventRecord"); !st) return release_and(st.error());
    if (auto st = check(rt::stream_wait_event(s0, join_), "StreamWaitEvent"); !st) return release_and(st.error());
    if (auto st = check(rt::event_record(stop_, s0), "EventRecord"); !st) return release_and(st.error());
    release_hold();
    if (auto st = check(rt::event_synchronize(stop_), "EventSynchronize"); !st) return st.error();
    float ms = 0;
    if (auto st = check(rt::event_elapsed_ms(&ms, start_, stop_), "EventElapsedTime"); !st) return st.error();
    return static_cast<double>(ms) * 1e-3;
  }

 private:
  explicit GpuDevice(int ordinal) : ordinal_(ordinal) {}

  Status init(int driver_version) {
    if (auto st = select(); !st) return st;
    rt::props_t p{};
    if (auto st = check(rt::get_properties(&p, ordinal_), "GetDeviceProperties"); !st) return st;
    info_.backend = rt::backend_name;
    info_.ordinal = ordinal_;
    info_.name = p.name;
    info_.uuid = rt::device_uuid(p, ordinal_);
    char bus[32];
    std::snprintf(bus, sizeof bus, "%04x:%02x:%02x.0", static_cast<unsigned>(p.pciDomainID),
                  static_cast<unsigned>(p.pciBusID), static_cast<unsigned>(p.pciDeviceID));
    info_.pci_bus_id = bus;
    info_.arch = rt::device_arch(p);
    info_.cc_major = p.major;
    info_.cc_minor = p.minor;
    info_.memory_bytes = p.totalGlobalMem;
    info_.llc_bytes = p.l2CacheSize > 0 ? static_cast<std::uint64_t>(p.l2CacheSize) : 0;
    info_.compute_units = p.multiProcessorCount;
    int khz = 0;
    if (rt::clock_khz(&khz, ordinal_) == rt::success) info_.max_clock_mhz = khz / 1000;
    if (rt::memory_clock_khz(&khz, ordinal_) == rt::success) info_.memory_clock_mhz = khz / 1000;
    int bits = 0;
    if (rt::bus_width_bits(&bits, ordinal_) == rt::success) info_.memory_bus_width_bits = bits;
    info_.parallel_items =
        static_cast<std::uint64_t>(p.multiProcessorCount) * static_cast<std::uint64_t>(rt::resident_threads_per_unit(p));
    info_.runtime_version = rt::format_version(rt::built_runtime_version);
    info_.driver_version = driver_version > 0 ? rt::format_version(driver_version) : "";
    for (auto& s : streams_)
      if (auto st = check(rt::stream_create(&s), "StreamCreate"); !st) return st;
    for (rt::event_t* e : {&start_, &stop_, &join_})
      if (auto st = check(rt::event_create(e), "EventCreate"); !st) return st;
    void* flag = nullptr;
    if (auto st = check(rt::host_alloc_mapped(&flag, sizeof(int)), "HostAlloc", "hold flag"); !st) return st;
    flag_host_ = static_cast<int*>(flag);
    *flag_host_ = 1;
    void* dflag = nullptr;
    if (auto st = check(rt::host_device_pointer(&dflag, flag), "HostGetDevicePointer"); !st) return st;
    flag_device_ = static_cast<volatile int*>(dflag);
    return {};
  }

  template <class T>
  void launch_track_generate(const KernelArgs& a, u64 blocks, rt::stream_t s) {
    hep::track_generate_kernel<T><<<blocks, kg::block_size, 0, s>>>(
        hep::track_config<T>(), a.seed, 0, a.n, static_cast<hep::TrackHits<T>*>(a.out),
        static_cast<hep::TrackTruth<T>*>(a.scratch));
  }

  template <class T>
  void launch_track_fit(const KernelArgs& a, u64 blocks, rt::stream_t s) {
    hep::track_fit_kernel<T><<<blocks, kg::block_size, 0, s>>>(
        hep::track_config<T>(), a.n, static_cast<const hep::TrackHits<T>*>(a.in0), static_cast<hep::TrackFit<T>*>(a.out));
  }

  // Inputs made on the device, then the tiled forward pass (weights stored as S).
  template <class S>
  void launch_mlp(const KernelArgs& a, rt::stream_t s) {
    auto* inputs = static_cast<S*>(a.scratch);
    hep::mlp_input_kernel<S><<<grid(a.n), kg::block_size, 0, s>>>(a.seed, 0, a.n, inputs);
    const u64 tiles = (a.n + hep::mlp_kernel_tile - 1) / hep::mlp_kernel_tile;
    hep::mlp_forward_kernel<S, S><<<tiles, kg::block_size, 0, s>>>(
        static_cast<const S*>(a.in0), static_cast<const S*>(a.in1), inputs, a.n, static_cast<float*>(a.out));
  }

  // Inputs made on the device into the workspace, then the vendor GEMM per layer
  // with our bias/ReLU epilogue (vendor_blas::mlp_forward), all on stream s.
  template <class S>
  Status launch_mlp_blas(const KernelArgs& a, rt::stream_t s) {
    if (!blas_handle_) {
      auto h = blas_->create_handle();
      if (!h) return h.error();
      blas_handle_ = *h;
    }
    if (auto st = blas_->set_stream(blas_handle_.get(), static_cast<void*>(s)); !st) return st;
    hep::mlp_input_kernel<S><<<grid(a.n), kg::block_size, 0, s>>>(a.seed, 0, a.n, static_cast<S*>(a.scratch));
    if (auto st = check(rt::last_error(), "LaunchKernel", "mlp_input"); !st) return st;
    const vendor_blas::BiasFn<S> bias = [&](const float* acc, const S* b, u64 rows, int width, S* act, float* out) {
      hep::mlp_bias_kernel<S><<<grid(rows * u64(width)), kg::block_size, 0, s>>>(acc, b, rows, width, act, out);
      return check(rt::last_error(), "LaunchKernel", "mlp_bias");
    };
    return vendor_blas::mlp_forward<S>(*blas_, blas_handle_.get(), static_cast<const S*>(a.in0),
                                       static_cast<const S*>(a.in1), a.n, a.scratch, static_cast<float*>(a.out), bias);
  }

  template <bool Enabled>
  Status launch_bf16(const KernelArgs& a, u64 blocks, rt::stream_t s) {
    if constexpr (Enabled) {
      kg::fma_packed_kernel<typename rt::bfloat162><<<blocks, kg::block_size, 0, s>>>(
          static_cast<double*>(a.out), a.n, static_cast<float>(a.scalar), static_cast<float>(a.scalar2), a.seed,
          a.iterations);
      return {};
    } else {
      return environment_error(unavailable_kernel(kernel::fma_bf16), "launch fma_bf16");
    }
  }

  void release_hold() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    *static_cast<volatile int*>(flag_host_) = 1;
  }

  Error release_and(Error e) {
    release_hold();
    (void)rt::device_synchronize();  // drain what was enqueued; the first error is the one reported
    return e;
  }

  rt::stream_t stream_at(int i) const { return streams_[static_cast<size_t>(i >= 0 && i < stream_count ? i : 0)]; }

  static u64 grid(u64 n) {
    u64 blocks = (n + kg::block_size - 1) / kg::block_size;
    const u64 max_blocks = 2147483647ULL;
    return blocks == 0 ? 1 : blocks > max_blocks ? max_blocks : blocks;
  }

  std::string label() const {
    return info_.uuid.empty() ? std::string(rt::backend_name) + " device " + std::to_string(ordinal_) : info_.uuid;
  }

  Status select() const { return check(rt::set_device(ordinal_), "SetDevice"); }

  // One place that turns a runtime status into an Error naming the call and device.
  Status check(rt::error_t e, const char* call, const std::string& detail = {}) const {
    if (e == rt::success) return {};
    std::string where = std::string(rt::api) + call + (detail.empty() ? "" : " (" + detail + ")") + " on " + label();
    return environment_error(rt::error_string(e), where);
  }

  int ordinal_;
  DeviceInfo info_;
  rt::stream_t streams_[stream_count] = {};
  rt::event_t start_ = nullptr, stop_ = nullptr, join_ = nullptr;
  int* flag_host_ = nullptr;
  volatile int* flag_device_ = nullptr;
  std::mutex timing_;
  std::shared_ptr<vendor_blas::Library> blas_;
  std::shared_ptr<void> blas_handle_;  // made on first use, on this device
};

class GpuBackend final : public Backend {
 public:
  explicit GpuBackend(std::vector<std::shared_ptr<Device>> devices) : devices_(std::move(devices)) {}
  std::string name() const override { return rt::backend_name; }
  std::vector<std::shared_ptr<Device>> devices() override { return devices_; }

 private:
  std::vector<std::shared_ptr<Device>> devices_;
};

// The plugin's factory: nullptr and a reason when there is no driver, no
// device, or a driver too old for the runtime the plugin carries.
inline Backend* create_backend(char* error, std::size_t error_size) {
  auto fail = [&](const std::string& message) -> Backend* {
    std::snprintf(error, error_size, "%s", message.c_str());
    return nullptr;
  };
  try {
    int driver = 0;
    if (rt::driver_version(&driver) != rt::success) driver = 0;
    int count = 0;
    rt::error_t e = rt::get_device_count(&count);
    std::string mismatch = rt::driver_mismatch(driver);
    if (e != rt::success)
      return fail(std::string("no usable device: ") + rt::error_string(e) + (mismatch.empty() ? "" : " (" + mismatch + ")"));
    if (count <= 0) return fail(std::string("no usable device: the ") + rt::backend_name + " runtime sees no device");
    // The vendor GEMM is optional: without it only the hep_mlp_blas_* kernels
    // are missing, and they say why.
    auto blas = vendor_blas::Library::open(rt::blas_family, rt::toolkit_major);
    std::shared_ptr<vendor_blas::Library> blas_library = blas ? *blas : nullptr;
    const std::string blas_missing = blas ? "" : blas.error().what();
    std::vector<std::shared_ptr<Device>> devices;
    for (int i = 0; i < count; ++i) {
      auto d = GpuDevice::open(i, driver, blas_library, blas_missing);
      if (!d) return fail("no usable device: " + d.error().what());
      devices.push_back(std::move(*d));
    }
    return new GpuBackend(std::move(devices));
  } catch (const std::exception& ex) {
    return fail(std::string("initialisation failed: ") + ex.what());
  }
}

}  // namespace gpukit::gpu_backend
