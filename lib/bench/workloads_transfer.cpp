// Host-device transfers: host-to-device, device-to-host and both at once, from
// pinned and pageable host memory on the GPU's NUMA node or on a remote one,
// over a size sweep (4 KiB x 4^k up to --max-transfer). A bidirectional figure
// counts the bytes of both directions.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "bench/reference.hpp"
#include "bench/workloads.hpp"
#include "compute/kernels/common.cuh"
#include "core/stats.hpp"

namespace gpukit::detail {

namespace {

constexpr std::uint64_t smallest = 4096;
constexpr std::uint64_t max_ops_per_region = 256;  // stays below the runtimes' launch-queue depth

void fill_pattern(std::uint64_t* words, std::uint64_t n, std::uint64_t seed) {
  host_parallel_for(n, [&](std::uint64_t b, std::uint64_t e) {
    for (std::uint64_t i = b; i < e; ++i) words[i] = kernels::mix64(seed ^ i);
  });
}

// Words of `words` that differ from the pattern, and the first of them.
std::pair<std::uint64_t, std::uint64_t> count_mismatches(const std::uint64_t* words, std::uint64_t n,
                                                         std::uint64_t seed) {
  std::mutex m;
  std::uint64_t bad = 0, first = UINT64_MAX;
  host_parallel_for(n, [&](std::uint64_t b, std::uint64_t e) {
    std::uint64_t local = 0, local_first = UINT64_MAX;
    for (std::uint64_t i = b; i < e; ++i)
      if (words[i] != kernels::mix64(seed ^ i)) {
        ++local;
        local_first = std::min(local_first, i);
      }
    std::lock_guard lock(m);
    bad += local;
    first = std::min(first, local_first);
  });
  return {bad, first};
}

class TransferWorkload final : public Workload {
 public:
  TransferWorkload(std::string direction, std::string memory, bool remote)
      : direction_(std::move(direction)), memory_(std::move(memory)), remote_(remote) {}

  std::string name() const override { return direction_ + "_" + memory_ + (remote_ ? "_remote" : ""); }
  std::string family() const override { return "transfer"; }
  std::string unit() const override { return "GB/s"; }

  std::string unsupported(const WorkloadContext& ctx) const override {
    if (ctx.kind == "cpu") return "the CPU has no host-device link";
    if (remote_) {
      if (ctx.numa_nodes.size() < 2) return "this host has one NUMA node: there is no remote placement";
      if (ctx.numa_node < 0) return "the GPU's NUMA node is unknown: local and remote cannot be told apart";
    }
    return {};
  }

  Status prepare(WorkloadContext& ctx) override {
    host_node_ = ctx.numa_node;
    if (remote_)
      for (int n : ctx.numa_nodes)
        if (n != ctx.numa_node) {
          host_node_ = n;
          break;
        }
    auto budget = memory_budget(ctx, 0.5);
    if (!budget) return budget.error();
    const int device_buffers = direction_ == "bidir" ? 2 : 1;
    std::uint64_t largest = std::min(ctx.config.max_transfer_bytes, *budget / device_buffers);
    if (largest < smallest) return environment_error("less than 4 KiB of device memory for the transfers", name());
    if (ctx.config.quick) {
      for (std::uint64_t s : {smallest, std::uint64_t{1} << 20, std::uint64_t{64} << 20})
        if (s <= largest) sizes_.push_back(s);
    } else {
      for (std::uint64_t s = smallest; s <= largest; s *= 4) sizes_.push_back(s);
    }
    bytes_ = sizes_.back();
    for (void** p : {&src_, &dst_}) {
      auto h = ctx.host->allocate(bytes_, host_node_);
      if (!h) return h.error();
      *p = *h;
      if (memory_ == "pinned") {
        if (auto st = ctx.device->pin_host(*p, bytes_); !st) return st;
        pinned_.push_back(*p);
      }
    }
    for (int i = 0; i < device_buffers; ++i) {
      auto d = ctx.device->allocate(bytes_);
      if (!d) return d.error();
      dev_[i] = *d;
    }
    // Pageable copies block the host while they run, so the device cannot be
    // held back for them (the hold would wait on the host that waits on it).
    hold_ = memory_ == "pinned";
    for (std::uint64_t s : sizes_) {
      if (auto st = ctx.device->copy(dev_[0], src_, s, CopyKind::host_to_device, 0); !st) return st;  // warm
      auto t = ctx.device->time_region([&] { return enqueue(ctx, s); }, hold_);
      if (!t) return t.error();
      inner_[s] = inner_repetitions(*t, ctx.config.target_region_s / 4, max_ops_per_region);
    }
    size_ = {{"sizes_bytes", sizes_},
             {"largest_bytes", bytes_},
             {"host_memory", memory_},
             {"host_numa_node", host_node_ >= 0 ? json(host_node_) : json(nullptr)},
             {"gpu_numa_node", ctx.numa_node >= 0 ? json(ctx.numa_node) : json(nullptr)},
             {"directions", direction_ == "bidir" ? 2 : 1}};
    return {};
  }

  Result<Measurement> run(WorkloadContext& ctx, std::uint64_t seed) override {
    Device& d = *ctx.device;
    const std::uint64_t words = bytes_ / 8;
    fill_pattern(static_cast<std::uint64_t*>(src_), words, seed);
    std::memset(dst_, 0xff, bytes_);
    if (direction_ != "h2d") {
      // The device side of a download holds the pattern before the timed copies.
      void* source = direction_ == "bidir" ? dev_[1] : dev_[0];
      if (auto st = d.copy(source, src_, bytes_, CopyKind::host_to_device, 0); !st) return st.error();
    }
    if (direction_ != "d2h") {
      // Poison what the upload must overwrite.
      KernelArgs poison;
      poison.out = dev_[0];
      poison.n = words;
      poison.scalar = -1.0;
      if (auto st = d.launch("fill_f64", poison, 0); !st) return st.error();
    }
    if (auto st = d.synchronize(); !st) return st.error();
    Measurement m;
    for (size_t i = 0; i < sizes_.size(); ++i) {
      const std::uint64_t s = sizes_[i], k = inner_[s];
      auto t = d.time_region(
          [&]() -> Status {
            for (std::uint64_t r = 0; r < k; ++r)
              if (auto st = enqueue(ctx, s); !st) return st;
            return {};
          },
          hold_);
      if (!t) return t.error();
      const double per_op = *t / static_cast<double>(k);
      const double moved = static_cast<double>(s) * (direction_ == "bidir" ? 2 : 1);
      samples_[s].first.push_back(moved / per_op / 1e9);
      samples_[s].second.push_back(per_op * 1e6);
      if (s == bytes_) {
        m.seconds = per_op;
        m.value = moved / per_op / 1e9;
      }
    }
    // Validation: what arrived is the pattern, word for word.
    if (direction_ != "d2h") {
      std::vector<std::uint64_t> back(words);
      if (auto st = d.copy(back.data(), dev_[0], bytes_, CopyKind::device_to_host, 0); !st) return st.error();
      if (auto st = d.synchronize(); !st) return st.error();
      record(m.validation, count_mismatches(back.data(), words, seed), words, "upload");
    }
    if (direction_ != "h2d") record(m.validation, count_mismatches(static_cast<std::uint64_t*>(dst_), words, seed), words, "download");
    m.validation.method = "every 64-bit word of the largest transfer against the host pattern";
    m.validation.tolerance = 0;
    m.validation.max_rel_error = m.validation.passed ? 0.0 : 1.0;
    return m;
  }

  Status sustain(WorkloadContext& ctx, double seconds) override {
    double done = 0;
    while (done < seconds) {
      auto t = ctx.device->time_region([&] { return enqueue(ctx, bytes_); }, false);
      if (!t) return t.error();
      done += std::max(*t, 1e-6);
    }
    return {};
  }

  json problem_size() const override { return size_; }

  json details() const override {
    json sweep = json::array();
    for (std::uint64_t s : sizes_) {
      auto it = samples_.find(s);
      if (it == samples_.end()) continue;
      sweep.push_back({{"bytes", s},
                       {"bandwidth_gbs", median(it->second.first)},
                       {"time_per_transfer_us", median(it->second.second)}});
    }
    json d = {{"sweep", sweep}};
    if (!sweep.empty()) d["latency_us"] = sweep.front()["time_per_transfer_us"];
    return d;
  }

  void release(WorkloadContext& ctx) override {
    for (void* p : pinned_) ctx.device->unpin_host(p);
    pinned_.clear();
    if (src_) ctx.host->release(src_, bytes_);
    if (dst_) ctx.host->release(dst_, bytes_);
    src_ = dst_ = nullptr;
    for (void*& p : dev_) {
      if (p) ctx.device->release(p);
      p = nullptr;
    }
  }

 private:
  Status enqueue(WorkloadContext& ctx, std::uint64_t s) {
    Device& d = *ctx.device;
    if (direction_ == "h2d") return d.copy(dev_[0], src_, s, CopyKind::host_to_device, 0);
    if (direction_ == "d2h") return d.copy(dst_, dev_[0], s, CopyKind::device_to_host, 0);
    if (auto st = d.copy(dev_[0], src_, s, CopyKind::host_to_device, 0); !st) return st;
    return d.copy(dst_, dev_[1], s, CopyKind::device_to_host, d.streams() > 1 ? 1 : 0);
  }

  static void record(Validation& v, std::pair<std::uint64_t, std::uint64_t> result, std::uint64_t words,
                     const char* what) {
    v.checked += words;
    if (result.first == 0) return;
    v.passed = false;
    v.detail += std::string(v.detail.empty() ? "" : "; ") + what + ": " + std::to_string(result.first) +
                " words wrong, the first at byte " + std::to_string(result.second * 8);
  }

  std::string direction_, memory_;
  bool remote_;
  int host_node_ = -1;
  bool hold_ = true;
  std::vector<std::uint64_t> sizes_;
  std::map<std::uint64_t, std::uint64_t> inner_;
  std::map<std::uint64_t, std::pair<std::vector<double>, std::vector<double>>> samples_;  // GB/s, us
  std::uint64_t bytes_ = 0;
  void* src_ = nullptr;
  void* dst_ = nullptr;
  void* dev_[2] = {nullptr, nullptr};
  std::vector<void*> pinned_;
  json size_ = json::object();
};

}  // namespace

std::unique_ptr<Workload> make_transfer_workload(const std::string& direction, const std::string& memory, bool remote) {
  return std::make_unique<TransferWorkload>(direction, memory, remote);
}

}  // namespace gpukit::detail
