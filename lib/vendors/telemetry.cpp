// Every vendor's telemetry behind one TelemetrySource, for consumers that read
// whatever GPUs a node has.
#include "vendors/telemetry.hpp"

#include <algorithm>

namespace gpukit {

const char* to_string(DeviceEvent::Kind kind) {
  switch (kind) {
    case DeviceEvent::Kind::xid: return "xid";
    case DeviceEvent::Kind::ecc_single_bit: return "ecc_single_bit";
    case DeviceEvent::Kind::ecc_double_bit: return "ecc_double_bit";
  }
  return "xid";
}

Result<DeviceEvents> TelemetrySource::events(const std::string&) {
  DeviceEvents none;
  for (const char* kind : device_event_kinds)
    none.unavailable.emplace_back(kind, vendor() + " telemetry reports no error events");
  return none;
}

namespace {

class CombinedTelemetry final : public TelemetrySource {
 public:
  explicit CombinedTelemetry(std::vector<std::unique_ptr<TelemetrySource>> sources) : sources_(std::move(sources)) {}

  std::string vendor() const override {
    std::string names;
    for (const auto& s : sources_) names += (names.empty() ? "" : "+") + s->vendor();
    return names;
  }

  std::vector<std::string> devices() const override {
    std::vector<std::string> all;
    for (const auto& s : sources_) {
      auto d = s->devices();
      all.insert(all.end(), d.begin(), d.end());
    }
    return all;
  }

  Result<DeviceSample> sample(const std::string& uuid) override {
    auto* s = owner(uuid);
    if (!s) return unknown(uuid);
    return s->sample(uuid);
  }

  Result<std::vector<ProcessSample>> processes(const std::string& uuid, std::uint64_t& since_us) override {
    auto* s = owner(uuid);
    if (!s) return unknown(uuid);
    return s->processes(uuid, since_us);
  }

  Result<DeviceEvents> events(const std::string& uuid) override {
    auto* s = owner(uuid);
    if (!s) return unknown(uuid);
    return s->events(uuid);
  }

 private:
  TelemetrySource* owner(const std::string& uuid) const {
    for (const auto& s : sources_) {
      auto d = s->devices();
      if (std::find(d.begin(), d.end(), uuid) != d.end()) return s.get();
    }
    return nullptr;
  }
  static Error unknown(const std::string& uuid) { return usage_error("no device with UUID " + uuid, "telemetry"); }

  std::vector<std::unique_ptr<TelemetrySource>> sources_;
};

}  // namespace

Result<std::unique_ptr<TelemetrySource>> open_telemetry(double timeout_s) {
  std::vector<std::unique_ptr<TelemetrySource>> opened;
  std::string problems;
  for (auto open : {open_nvidia_telemetry, open_amd_telemetry}) {
    auto source = open(timeout_s);
    if (source) opened.push_back(std::move(*source));
    else problems += (problems.empty() ? "" : "; ") + source.error().what();
  }
  if (opened.empty()) return environment_error(problems);
  // A vendor library present on a node without that vendor's GPUs adds nothing.
  std::vector<std::unique_ptr<TelemetrySource>> useful;
  for (auto& s : opened)
    if (!s->devices().empty()) useful.push_back(std::move(s));
  if (useful.empty()) return std::move(opened.front());
  if (useful.size() == 1) return std::move(useful.front());
  return std::unique_ptr<TelemetrySource>(std::make_unique<CombinedTelemetry>(std::move(useful)));
}

}  // namespace gpukit
