// A fake GPU backend for the tests: "GPUs" whose memory is host memory and whose
// kernels are the CPU backend's, so that the runner's GPU paths (device
// selection by UUID, events, node aggregate, watchdog) run without a GPU.
//   GPUKIT_FAKE_GPU_COUNT=N        devices (default 1), UUIDs GPU-f4ce0000-0000-4000-8000-00000000000<i+1>
//   GPUKIT_FAKE_GPU_UUID=U, GPUKIT_FAKE_GPU_PCI=B   the first device's UUID and PCI address instead
//                                  (to stand for a GPU of a fixture, e.g. an MI250X GCD)
//   GPUKIT_FAKE_GPU_HANG=KERNEL    launching KERNEL never returns (a hung driver call)
//   GPUKIT_FAKE_GPU_BROKEN=KERNEL  KERNEL's first output element comes out wrong
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "compute/backend.hpp"
#include "compute/cpu/cpu_backend.hpp"

namespace {

using namespace gpukit;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class FakeGpu final : public Device {
 public:
  FakeGpu(std::shared_ptr<Device> cpu, int index) : cpu_(std::move(cpu)) {
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
    hang_ = env("GPUKIT_FAKE_GPU_HANG");
    broken_ = env("GPUKIT_FAKE_GPU_BROKEN");
  }
  const DeviceInfo& info() const override { return info_; }
  std::string unavailable_kernel(const std::string& k) const override { return cpu_->unavailable_kernel(k); }
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
  DeviceInfo info_;
  std::string hang_, broken_;
};

class FakeBackend final : public Backend {
 public:
  FakeBackend(std::unique_ptr<Backend> cpu, int count) : cpu_(std::move(cpu)) {
    for (int i = 0; i < count; ++i) devices_.push_back(std::make_shared<FakeGpu>(cpu_->devices().front(), i));
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
