// A fake GPU backend for the tests: "GPUs" whose memory is host memory and whose
// kernels are the CPU backend's, so that the runner's GPU paths (device
// selection by UUID, events, node aggregate, watchdog) run without a GPU. The
// hep_* kernels, which the CPU backend does not have, run here as a GPU plugin
// runs them: the same GPUKIT_HOST_DEVICE function once per work item (on host
// threads), so gpubench's GPU drivers of the HEP workloads (buffers, launches,
// copies, host validation) are exercised too.
//   GPUKIT_FAKE_GPU_COUNT=N        devices (default 1), UUIDs GPU-f4ce0000-0000-4000-8000-00000000000<i+1>
//   GPUKIT_FAKE_GPU_UUID=U, GPUKIT_FAKE_GPU_PCI=B   the first device's UUID and PCI address instead
//                                  (to stand for a GPU of a fixture, e.g. an MI250X GCD)
//   GPUKIT_FAKE_GPU_HANG=KERNEL    launching KERNEL never returns (a hung driver call)
//   GPUKIT_CUBLAS_LIBRARY=FILE     the hep_mlp_blas_* kernels run through FILE, which must be
//                                  the fake cuBLAS (tests/fakes/cublas: GEMM on host memory);
//                                  unset, the fake GPU has no vendor GEMM and says so
//   GPUKIT_FAKE_GPU_BROKEN=KERNEL  KERNEL's first output element comes out wrong; a hep_*
//                                  kernel runs its deliberately wrong variant instead (Z
//                                  coupling sign flipped, photo-electric deposit dropped,
//                                  covariance not updated)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/hep/em_shower.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/track_fit.hpp"
#include "compute/backend.hpp"
#include "compute/cpu/cpu_backend.hpp"
#include "compute/gpu/vendor_blas.hpp"
#include "compute/kernels/hep/mlp.cuh"
#include "compute/kernels/names.hpp"

namespace {

using namespace gpukit;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Runs item(i) for i in [0, n) on the host's threads: a grid of one thread per item.
template <class F>
void grid(std::uint64_t n, F item) {
  const std::uint64_t threads = std::max(1u, std::thread::hardware_concurrency());
  const std::uint64_t chunk = (n + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (std::uint64_t begin = 0; begin < n; begin += chunk)
    pool.emplace_back([=] {
      for (std::uint64_t i = begin; i < std::min(n, begin + chunk); ++i) item(i);
    });
  for (auto& t : pool) t.join();
}

// The forward pass of the plugins' tiled kernel for storage type S: inputs
// made from `seed` into scratch, 16 samples per tile.
template <class S>
void mlp(const KernelArgs& a) {
  auto* in = static_cast<S*>(a.scratch);
  grid(a.n, [&](std::uint64_t i) { hep::mlp_input_row<S>(a.seed, i, in + i * hep::mlp_inputs); });
  constexpr int tile = 16;
  grid((a.n + tile - 1) / tile, [&](std::uint64_t t) {
    auto sc = std::make_unique<hep::MlpTileScratch<S, tile>>();
    const std::uint64_t first = t * tile;
    hep::mlp_forward_tile<S, S, tile>(static_cast<const S*>(a.in0), static_cast<const S*>(a.in1),
                                      in + first * hep::mlp_inputs, int(std::min<std::uint64_t>(tile, a.n - first)),
                                      static_cast<float*>(a.out) + first * hep::mlp_outputs, *sc);
  });
}

// true when `name` is a HEP kernel (and it ran); `wrong`: its wrong variant.
bool launch_hep(const std::string& name, const KernelArgs& a, bool wrong = false) {
  using namespace gpukit::kernel;
  if (name == hep_me_eemumu_fp64 || name == hep_me_eemumu_fp32) {
    const bool fp64 = name == hep_me_eemumu_fp64;
    const auto ew64 = hep::ew_parameters<double>();
    const auto ew32 = hep::ew_parameters<float>();
    grid(a.n, [&](std::uint64_t i) {
      if (fp64)
        static_cast<double*>(a.out)[i] = wrong ? hep::me_eemumu_event<double, true>(a.seed, i, a.scalar, ew64)
                                               : hep::me_eemumu_event<double>(a.seed, i, a.scalar, ew64);
      else
        static_cast<float*>(a.out)[i] = wrong ? hep::me_eemumu_event<float, true>(a.seed, i, float(a.scalar), ew32)
                                              : hep::me_eemumu_event<float>(a.seed, i, float(a.scalar), ew32);
    });
  } else if (name == hep_em_shower_fp64 || name == hep_em_shower_fp32) {
    auto run = [&](auto zero) {
      using T = decltype(zero);
      const auto c = hep::shower_config<T>(a.scalar);
      grid(a.n, [&](std::uint64_t i) {
        T* deposits = static_cast<T*>(a.out) + i * std::uint64_t(c.layers);
        auto* tally = static_cast<hep::ShowerTally<T>*>(a.scratch) + i;
        wrong ? hep::shower_event<T, true>(c, a.seed, i, deposits, tally)
              : hep::shower_event<T>(c, a.seed, i, deposits, tally);
      });
    };
    name == hep_em_shower_fp64 ? run(0.0) : run(0.0f);
  } else if (name == hep_track_generate_fp64 || name == hep_track_generate_fp32) {
    auto run = [&](auto zero) {
      using T = decltype(zero);
      const auto c = hep::track_config<T>();
      grid(a.n, [&](std::uint64_t i) {
        hep::track_generate(c, a.seed, i, static_cast<hep::TrackHits<T>*>(a.out) + i,
                            static_cast<hep::TrackTruth<T>*>(a.scratch) + i);
      });
    };
    name == hep_track_generate_fp64 ? run(0.0) : run(0.0f);
  } else if (name == hep_track_fit_fp64 || name == hep_track_fit_fp32) {
    auto run = [&](auto zero) {
      using T = decltype(zero);
      const auto c = hep::track_config<T>();
      grid(a.n, [&](std::uint64_t i) {
        const auto& hits = static_cast<const hep::TrackHits<T>*>(a.in0)[i];
        auto* fit = static_cast<hep::TrackFit<T>*>(a.out) + i;
        wrong ? hep::track_fit<T, true>(c, hits, fit) : hep::track_fit<T>(c, hits, fit);
      });
    };
    name == hep_track_fit_fp64 ? run(0.0) : run(0.0f);
  } else if (name == hep_mlp_fp32) {
    mlp<float>(a);
  } else if (name == hep_mlp_fp16) {
    mlp<hep::Half>(a);
  } else if (name == hep_mlp_bf16) {
    mlp<hep::BFloat16>(a);
  } else {
    return false;
  }
  return true;
}

bool is_hep_kernel(const std::string& name) { return name.rfind("hep_", 0) == 0; }

bool is_blas_kernel(const std::string& name) { return name.rfind("hep_mlp_blas_", 0) == 0; }

// The vendor-GEMM forward pass as the plugins run it (vendor_blas::mlp_forward),
// with the bias/ReLU epilogue on the host.
template <class S>
Status mlp_blas(vendor_blas::Library& lib, void* handle, const KernelArgs& a) {
  auto* in = static_cast<S*>(a.scratch);
  grid(a.n, [&](std::uint64_t i) { hep::mlp_input_row<S>(a.seed, i, in + i * hep::mlp_inputs); });
  const vendor_blas::BiasFn<S> bias = [](const float* acc, const S* b, std::uint64_t rows, int width, S* act,
                                         float* out) -> Status {
    for (std::uint64_t i = 0; i < rows * std::uint64_t(width); ++i) hep::mlp_bias_element(acc, b, i, width, act, out);
    return {};
  };
  return vendor_blas::mlp_forward<S>(lib, handle, static_cast<const S*>(a.in0), static_cast<const S*>(a.in1), a.n,
                                     a.scratch, static_cast<float*>(a.out), bias);
}

class FakeGpu final : public Device {
 public:
  FakeGpu(std::shared_ptr<Device> cpu, int index, std::shared_ptr<vendor_blas::Library> blas, std::string blas_missing)
      : cpu_(std::move(cpu)), blas_(std::move(blas)) {
    info_ = cpu_->info();
    char uuid[64], bus[32];
    std::snprintf(uuid, sizeof uuid, "GPU-f4ce0000-0000-4000-8000-%012d", index + 1);
    std::snprintf(bus, sizeof bus, "0000:f%d:00.0", index + 4);
    info_.backend = "fakegpu";
    info_.uuid = uuid;
    info_.name = "Fake GPU (host memory)";
    info_.pci_bus_id = bus;
    if (index == 0 && !env("GPUKIT_FAKE_GPU_UUID").empty()) info_.uuid = env("GPUKIT_FAKE_GPU_UUID");
    if (index == 0 && !env("GPUKIT_FAKE_GPU_PCI").empty()) info_.pci_bus_id = env("GPUKIT_FAKE_GPU_PCI");
    info_.ordinal = index;
    info_.arch = "fake";
    info_.runtime_version = "1.0";
    info_.driver_version = "1.0";
    info_.notes = {"a test double: kernels run on the CPU"};
    info_.vendor_blas = blas_ ? blas_->describe() : "";
    info_.vendor_blas_missing = blas_ ? "" : blas_missing;
    hang_ = env("GPUKIT_FAKE_GPU_HANG");
    broken_ = env("GPUKIT_FAKE_GPU_BROKEN");
  }
  const DeviceInfo& info() const override { return info_; }
  std::string unavailable_kernel(const std::string& k) const override {
    if (is_blas_kernel(k)) return blas_ ? "" : info_.vendor_blas_missing;
    if (is_hep_kernel(k)) {
      KernelArgs none;  // n = 0: asks whether the kernel exists without running it
      return launch_hep(k, none) ? "" : "the fake GPU has no kernel '" + k + "'";
    }
    return cpu_->unavailable_kernel(k);
  }
  Result<void*> allocate(std::size_t bytes) override { return cpu_->allocate(bytes); }
  void release(void* p) override { cpu_->release(p); }
  Result<std::uint64_t> free_memory() override {
    // A small "device": the memory test must not claim the host's memory.
    return std::uint64_t{64} << 20;
  }
  Status pin_host(void* p, std::size_t b) override { return cpu_->pin_host(p, b); }
  void unpin_host(void* p) override { cpu_->unpin_host(p); }
  int streams() const override { return 2; }
  Status copy(void* d, const void* s, std::size_t b, CopyKind k, int) override { return cpu_->copy(d, s, b, k, 0); }
  Status launch(const std::string& name, const KernelArgs& args, int stream) override {
    if (name == hang_)
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    if (is_blas_kernel(name)) {
      if (!blas_) return environment_error(info_.vendor_blas_missing, "launch " + name);
      if (!handle_) {
        auto h = blas_->create_handle();
        if (!h) return h.error();
        handle_ = *h;
      }
      if (auto st = blas_->set_stream(handle_.get(), nullptr); !st) return st;
      return name == kernel::hep_mlp_blas_fp16   ? mlp_blas<hep::Half>(*blas_, handle_.get(), args)
             : name == kernel::hep_mlp_blas_bf16 ? mlp_blas<hep::BFloat16>(*blas_, handle_.get(), args)
                                                 : mlp_blas<float>(*blas_, handle_.get(), args);
    }
    if (is_hep_kernel(name)) {
      if (!launch_hep(name, args, name == broken_)) return environment_error(unavailable_kernel(name), "launch " + name);
      return {};
    }
    auto st = cpu_->launch(name, args, stream);
    if (st && name == broken_ && args.out && args.n > 0) static_cast<double*>(args.out)[0] += 1.0;
    return st;
  }
  Status synchronize() override { return {}; }
  Result<double> time_region(const std::function<Status()>& enqueue, bool hold) override {
    return cpu_->time_region(enqueue, hold);
  }

 private:
  std::shared_ptr<Device> cpu_;
  std::shared_ptr<vendor_blas::Library> blas_;
  std::shared_ptr<void> handle_;
  DeviceInfo info_;
  std::string hang_, broken_;
};

class FakeBackend final : public Backend {
 public:
  FakeBackend(std::unique_ptr<Backend> cpu, int count) : cpu_(std::move(cpu)) {
    // Only the fake cuBLAS, named explicitly: a real one would be handed host pointers.
    std::shared_ptr<vendor_blas::Library> blas;
    std::string missing = "no vendor GEMM on the fake GPU (GPUKIT_CUBLAS_LIBRARY names none)";
    if (!env("GPUKIT_CUBLAS_LIBRARY").empty()) {
      auto lib = vendor_blas::Library::open(vendor_blas::Family::cublas, 13);
      if (!lib) missing = lib.error().what();
      else if (!(*lib)->exports("gpukit_fake_cublas")) missing = "GPUKIT_CUBLAS_LIBRARY names a real cuBLAS: the fake GPU uses only the fake";
      else blas = *lib;
    }
    for (int i = 0; i < count; ++i)
      devices_.push_back(std::make_shared<FakeGpu>(cpu_->devices().front(), i, blas, missing));
  }
  std::string name() const override { return "fakegpu"; }
  std::vector<std::shared_ptr<Device>> devices() override { return devices_; }

 private:
  std::unique_ptr<Backend> cpu_;
  std::vector<std::shared_ptr<Device>> devices_;
};

Backend* create(char* error, std::size_t size) {
#if defined(GPUKIT_FAKE_INIT_FAILS)
  std::snprintf(error, size, "no usable device: the fake driver refused to start");
  return nullptr;
#else
  auto cpu = make_cpu_backend();
  if (!cpu) {
    std::snprintf(error, size, "%s", cpu.error().what().c_str());
    return nullptr;
  }
  int count = std::atoi(env("GPUKIT_FAKE_GPU_COUNT").c_str());
  return new FakeBackend(std::move(*cpu), count > 0 ? count : 1);
#endif
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const gpukit_backend_plugin* gpukit_backend_plugin_v1() {
#if defined(GPUKIT_FAKE_ABI_MISMATCH)
  static const gpukit_backend_plugin plugin{gpukit::backend_abi_version + 998, "cuda", "CUDA 0.0", nullptr};
#elif defined(GPUKIT_FAKE_INIT_FAILS)
  static const gpukit_backend_plugin plugin{gpukit::backend_abi_version, "cuda", "CUDA 0.0", &create};
#else
  static const gpukit_backend_plugin plugin{gpukit::backend_abi_version, "fakegpu", "fake 1.0", &create};
#endif
  return &plugin;
}
