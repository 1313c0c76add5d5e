// A TelemetrySource in front of another that keeps at most one outstanding
// vendor call per device. A call that does not return within its deadline is
// abandoned on its worker thread (lib/core/deadline.hpp); calling that device
// again would only start one more thread that blocks in the same driver, so
// the device is marked timed out and never called again: a hung driver costs
// one thread per device, not one per sample. Exceptions from the source
// (std::system_error when no thread can be started, std::bad_alloc) come back
// as errors, so that a poll never throws.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "vendors/telemetry.hpp"

namespace gpukit {

class GuardedTelemetry final : public TelemetrySource {
 public:
  explicit GuardedTelemetry(std::unique_ptr<TelemetrySource> source) : source_(std::move(source)) {}

  std::string vendor() const override { return source_->vendor(); }
  std::vector<std::string> devices() const override { return source_->devices(); }
  Result<DeviceSample> sample(const std::string& uuid) override;
  Result<std::vector<ProcessSample>> processes(const std::string& uuid, std::uint64_t& since_us) override;
  // Guarded on its own: a wait for events that hangs costs the device's events,
  // not its samples (one abandoned thread for each, at most).
  Result<DeviceEvents> events(const std::string& uuid) override;

  // The device had a call that never returned: it is not called again.
  bool timed_out(const std::string& uuid) const { return timed_out_.count(uuid) > 0; }
  bool events_timed_out(const std::string& uuid) const { return timed_out_.count(events_key(uuid)) > 0; }

 private:
  template <class T, class Call>
  Result<T> guarded(const std::string& key, Call&& call);
  static std::string events_key(const std::string& uuid) { return "events:" + uuid; }

  std::unique_ptr<TelemetrySource> source_;
  std::set<std::string> timed_out_;
};

}  // namespace gpukit
