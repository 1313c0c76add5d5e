// Kernel launch latency and the device memory test.
#include <algorithm>
#include <chrono>

#include "bench/workloads.hpp"
#include "compute/kernels/names.hpp"
#include "core/stats.hpp"

namespace gpukit::detail {

namespace {

// The round trip of one empty kernel: launch, then wait for it, on the host
// clock (what a program that launches and waits sees).
class LaunchWorkload final : public Workload {
 public:
  std::string name() const override { return "launch_latency"; }
  std::string family() const override { return "launch"; }
  std::string unit() const override { return "us"; }
  bool additive() const override { return false; }
  bool higher_is_better() const override { return false; }
  std::string unsupported(const WorkloadContext& ctx) const override {
    return ctx.device->unavailable_kernel(kernel::empty);
  }

  Status prepare(WorkloadContext& ctx) override {
    launches_ = ctx.config.quick ? 200 : 1000;
    for (int i = 0; i < 20; ++i)
      if (auto st = once(ctx); !st) return st.error();
    return {};
  }

  Result<Measurement> run(WorkloadContext& ctx, std::uint64_t) override {
    std::vector<double> times;
    times.reserve(static_cast<size_t>(launches_));
    for (int i = 0; i < launches_; ++i) {
      auto t = once(ctx);
      if (!t) return t.error();
      times.push_back(*t);
    }
    Measurement m;
    m.seconds = median(times);
    m.value = m.seconds * 1e6;
    m.validation.method = "every launch and wait returned success";
    m.validation.checked = static_cast<std::uint64_t>(launches_);
    return m;
  }

  Status sustain(WorkloadContext& ctx, double seconds) override {
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds)
      if (auto t = once(ctx); !t) return t.error();
    return {};
  }

  json problem_size() const override { return {{"launches_per_repetition", launches_}, {"kernel", "empty"}}; }
  void release(WorkloadContext&) override {}

 private:
  Result<double> once(WorkloadContext& ctx) {
    auto start = std::chrono::steady_clock::now();
    if (auto st = ctx.device->launch(kernel::empty, {}, 0); !st) return st.error();
    if (auto st = ctx.device->synchronize(); !st) return st.error();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  int launches_ = 1000;
};

// The largest block that fits (a share of free memory), every word written
// with an index-derived pattern and read back on the device: confirms the
// capacity gpuprobe reports and catches bad memory.
class MemtestWorkload final : public Workload {
 public:
  std::string name() const override { return "memtest"; }
  std::string family() const override { return "memtest"; }
  std::string unit() const override { return "GB"; }
  bool additive() const override { return false; }
  std::string unsupported(const WorkloadContext& ctx) const override {
    for (const char* k : {kernel::memtest_write, kernel::memtest_verify})
      if (auto why = ctx.device->unavailable_kernel(k); !why.empty()) return why;
    return {};
  }

  Status prepare(WorkloadContext& ctx) override {
    share_ = ctx.config.memtest_fraction > 0 ? ctx.config.memtest_fraction : ctx.kind == "cpu" ? 0.25 : 0.9;
    auto free_bytes = ctx.device->free_memory();
    if (!free_bytes) return free_bytes.error();
    auto budget = memory_budget(ctx, share_);
    if (!budget) return budget.error();
    std::uint64_t budget_bytes = *budget;
    // A terabyte of host memory takes longer than --quick allows.
    if (ctx.config.quick && ctx.kind == "cpu") budget_bytes = std::min<std::uint64_t>(budget_bytes, 4ull << 30);
    bytes_ = budget_bytes / (2u << 20) * (2u << 20);
    if (bytes_ == 0) bytes_ = budget_bytes / 8 * 8;
    // Free memory moves under other processes: step down until a block fits.
    Error last = environment_error("no memory to test", name());
    for (int attempt = 0; attempt < 8 && bytes_ >= 8; ++attempt) {
      auto p = ctx.device->allocate(bytes_);
      if (p) {
        block_ = *p;
        break;
      }
      last = p.error();
      bytes_ = bytes_ / 10 * 9 / 8 * 8;
    }
    if (!block_) return last;
    auto c = ctx.device->allocate(16);
    if (!c) return c.error();
    counters_ = static_cast<std::uint64_t*>(*c);
    size_ = {{"allocated_bytes", bytes_},
             {"free_bytes", *free_bytes},
             {"share_of_free", share_},
             {"device_memory_bytes", ctx.device->info().memory_bytes ? json(ctx.device->info().memory_bytes) : json(nullptr)},
             {"probed_memory_bytes", ctx.probed_memory_bytes ? json(ctx.probed_memory_bytes) : json(nullptr)}};
    return {};
  }

  Result<Measurement> run(WorkloadContext& ctx, std::uint64_t seed) override {
    Device& d = *ctx.device;
    const std::uint64_t init[2] = {0, UINT64_MAX};
    if (auto st = d.copy(counters_, init, sizeof init, CopyKind::host_to_device, 0); !st) return st.error();
    if (auto st = d.synchronize(); !st) return st.error();
    KernelArgs k;
    k.out = block_;
    k.n = bytes_ / 8;
    k.seed = seed;
    k.scratch = counters_;
    auto t = d.time_region(
        [&]() -> Status {
          if (auto st = d.launch(kernel::memtest_write, k, 0); !st) return st;
          return d.launch(kernel::memtest_verify, k, 0);
        },
        false);
    if (!t) return t.error();
    std::uint64_t result[2] = {0, 0};
    if (auto st = d.copy(result, counters_, sizeof result, CopyKind::device_to_host, 0); !st) return st.error();
    if (auto st = d.synchronize(); !st) return st.error();
    Measurement m;
    m.seconds = *t;
    m.value = static_cast<double>(bytes_) / 1e9;
    bandwidth_.push_back(2.0 * static_cast<double>(bytes_) / *t / 1e9);
    Validation& v = m.validation;
    v.method = "every 64-bit word written with an index-derived pattern and read back";
    v.checked = bytes_ / 8;
    v.tolerance = 0;
    v.max_rel_error = result[0] ? 1.0 : 0.0;
    v.passed = result[0] == 0;
    if (!v.passed)
      v.detail = std::to_string(result[0]) + " words wrong, the first at byte offset " + std::to_string(result[1] * 8);
    return m;
  }

  Status sustain(WorkloadContext& ctx, double seconds) override {
    double done = 0;
    KernelArgs k;
    k.out = block_;
    k.n = bytes_ / 8;
    while (done < seconds) {
      auto t = ctx.device->time_region([&] { return ctx.device->launch(kernel::memtest_write, k, 0); }, false);
      if (!t) return t.error();
      done += std::max(*t, 1e-6);
    }
    return {};
  }

  json problem_size() const override { return size_; }
  json details() const override {
    if (bandwidth_.empty()) return nullptr;
    return {{"write_verify_bandwidth_gbs", median(bandwidth_)}};
  }

  void release(WorkloadContext& ctx) override {
    if (block_) ctx.device->release(block_);
    if (counters_) ctx.device->release(counters_);
    block_ = nullptr;
    counters_ = nullptr;
  }

 private:
  double share_ = 0.9;
  std::uint64_t bytes_ = 0;
  void* block_ = nullptr;
  std::uint64_t* counters_ = nullptr;
  std::vector<double> bandwidth_;
  json size_ = json::object();
};

}  // namespace

std::unique_ptr<Workload> make_launch_workload() { return std::make_unique<LaunchWorkload>(); }
std::unique_ptr<Workload> make_memtest_workload() { return std::make_unique<MemtestWorkload>(); }

}  // namespace gpukit::detail
