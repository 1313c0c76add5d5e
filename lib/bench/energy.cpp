#include "bench/energy.hpp"

#include <time.h>

#include <vector>

#include "core/fsroot.hpp"

namespace gpukit {

namespace {

double monotonic_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

class TelemetryMeter final : public EnergyMeter {
 public:
  TelemetryMeter(std::shared_ptr<TelemetrySource> source, std::string uuid, bool attributable)
      : source_(std::move(source)), uuid_(std::move(uuid)), attributable_(attributable) {}
  std::string source() const override { return source_->vendor() == "nvidia" ? "nvml" : source_->vendor(); }
  bool attributable() const override { return attributable_; }
  Result<DeviceSample> read() override { return source_->sample(uuid_); }

 private:
  std::shared_ptr<TelemetrySource> source_;
  std::string uuid_;
  bool attributable_;
};

struct RaplDomain {
  std::string energy_path;
  double max_j = 0;  // the counter wraps here
};

class RaplMeter final : public EnergyMeter {
 public:
  explicit RaplMeter(std::vector<RaplDomain> domains)
      : domains_(std::move(domains)), last_raw_(domains_.size(), -1), wraps_(domains_.size(), 0) {}
  std::string source() const override { return "rapl"; }
  bool attributable() const override { return true; }
  Result<DeviceSample> read() override {
    DeviceSample s;
    s.uuid = "cpu";
    s.time_s = monotonic_s();
    double total = 0;
    for (size_t i = 0; i < domains_.size(); ++i) {
      auto uj = read_integer_file(domains_[i].energy_path);
      if (!uj) return environment_error("cannot read", domains_[i].energy_path);
      double j = static_cast<double>(*uj) * 1e-6;
      // Unwrap: the counter restarts at zero after max_energy_range_uj.
      if (j < last_raw_[i] && domains_[i].max_j > 0) wraps_[i] += domains_[i].max_j;
      last_raw_[i] = j;
      total += j + wraps_[i];
    }
    s.energy_j = total;
    return s;
  }

 private:
  std::vector<RaplDomain> domains_;
  std::vector<double> last_raw_, wraps_;
};

}  // namespace

std::shared_ptr<EnergyMeter> make_telemetry_meter(std::shared_ptr<TelemetrySource> source, std::string uuid,
                                                  bool attributable) {
  return std::make_shared<TelemetryMeter>(std::move(source), std::move(uuid), attributable);
}

Result<std::shared_ptr<EnergyMeter>> open_rapl_meter() {
  const std::string base = fs_path("/sys/class/powercap");
  std::vector<RaplDomain> domains;
  std::string unreadable;
  for (const auto& name : list_directory(base)) {
    // Package domains only ("intel-rapl:0"); "intel-rapl:0:0" are parts of them.
    if (name.rfind("intel-rapl:", 0) != 0 || name.find(':', 11) != std::string::npos) continue;
    RaplDomain d;
    d.energy_path = base + "/" + name + "/energy_uj";
    if (!read_integer_file(d.energy_path)) {
      unreadable = d.energy_path;
      continue;
    }
    if (auto max = read_integer_file(base + "/" + name + "/max_energy_range_uj")) d.max_j = static_cast<double>(*max) * 1e-6;
    domains.push_back(d);
  }
  if (domains.empty()) {
    if (!unreadable.empty())
      return environment_error("RAPL energy counter not readable (root only on recent kernels)", unreadable);
    return environment_error("no RAPL package counters", base);
  }
  return std::shared_ptr<EnergyMeter>(new RaplMeter(std::move(domains)));
}

}  // namespace gpukit
